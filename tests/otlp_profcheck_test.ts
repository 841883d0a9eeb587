/**
 * profcheck (open-telemetry/sig-profiling) on otlp-file outputs:
 * `-check-dupes -check-orphans`, when a profcheck binary exists.
 *
 * profcheck has no install path on the project machines: the Go module proxy
 * answers 403 "This module version is not available" for
 * github.com/open-telemetry/sig-profiling/profcheck, and nothing else is
 * reachable from scripts. So this test is skipped, with that reason printed,
 * whenever the binary is missing — also under CI=true, where every other tool
 * is required. `PROFCHECK_SRC=/path/to/profcheck make profcheck` builds it
 * from a local checkout. The always-on replacement is denoprof's own checker,
 * tests/otlp_conformance.ts, which runs on every otlp-file output of the suite.
 */
import { createExporter } from "../exporters/registry.ts";
import {
  profcheckBinary,
  profcheckMissing,
  runProfcheck,
} from "./collector/collector.ts";
import { assertFilesConformant } from "./otlp_conformance.ts";
import { largeWindow, smallWindow } from "./otlp_fixtures.ts";

const available = profcheckBinary().path !== undefined;
if (!available) console.warn(`SKIP profcheck: ${profcheckMissing()}`);

Deno.test({
  name: "profcheck -check-dupes -check-orphans passes on otlp-file outputs " +
    "(skipped, also in CI, when profcheck is not built: the module proxy " +
    "answers 403 for it)",
  ignore: !available,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "denoprof-profcheck-" });
    try {
      const exporter = createExporter(`otlp-file:${dir}/profile.pb`, {});
      await exporter.export(smallWindow());
      await exporter.export(largeWindow(10_000, 500));
      // Non-interned copy: deduplication by value.
      await exporter.export(structuredClone(smallWindow()));
      await exporter.close();
      const files = ["profile.pb", "profile.1.pb", "profile.2.pb"].map((f) =>
        `${dir}/${f}`
      );
      for (const f of files) await runProfcheck(f);
      // Both checkers agree on the same files.
      await assertFilesConformant(files);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
