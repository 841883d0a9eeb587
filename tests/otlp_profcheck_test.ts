/**
 * profcheck (open-telemetry/sig-profiling) on otlp-file outputs:
 * `-check-dupes -check-orphans`. Needs `make collector` (which installs
 * profcheck); fails instead of skipping when CI=true.
 */
import { strictEqual } from "node:assert";
import { createExporter } from "../exporters/registry.ts";
import {
  ignoreWithout,
  profcheckBinary,
  requireTool,
} from "./collector/collector.ts";
import { largeWindow, smallWindow } from "./otlp_fixtures.ts";

const tool = profcheckBinary();

/**
 * Runs profcheck on a file; throws with its output when it fails.
 *
 * @param path A binary ProfilesData file.
 */
export async function profcheck(path: string): Promise<void> {
  const out = await new Deno.Command(requireTool(tool), {
    args: ["-check-dupes", "-check-orphans", path],
  }).output();
  const text = new TextDecoder().decode(out.stdout) +
    new TextDecoder().decode(out.stderr);
  strictEqual(out.code, 0, `profcheck failed on ${path}:\n${text}`);
}

Deno.test({
  name: "profcheck -check-dupes -check-orphans passes on otlp-file outputs",
  ignore: ignoreWithout(tool),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "denoprof-profcheck-" });
    try {
      const exporter = createExporter(`otlp-file:${dir}/profile.pb`, {});
      await exporter.export(smallWindow());
      await exporter.export(largeWindow(10_000, 500));
      // Non-interned copy: deduplication by value.
      await exporter.export(structuredClone(smallWindow()));
      await exporter.close();
      for (const f of ["profile.pb", "profile.1.pb", "profile.2.pb"]) {
        await profcheck(`${dir}/${f}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
