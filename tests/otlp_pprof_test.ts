/**
 * `go tool pprof -top` and `-traces` on the pprof exporter's output agree with
 * the folded exporter's output for the same windows. Needs Go (`go` on PATH or
 * /usr/local/go/bin/go); fails instead of skipping when CI=true.
 */
import { deepStrictEqual } from "node:assert";
import { createExporter } from "../exporters/registry.ts";
import {
  largeWindow,
  SMALL_WINDOW_FOLDED,
  smallWindow,
} from "./otlp_fixtures.ts";
import {
  goBinary,
  leafCounts,
  parseTop,
  parseTraces,
  pprof,
  readFolded,
  sortedEntries,
} from "./pprof_tool.ts";

const go = goBinary();
const sorted = sortedEntries;

Deno.test({
  name:
    "go tool pprof -top and -traces on pprof output agree with the folded output",
  ignore: go === undefined && Deno.env.get("CI") !== "true",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "denoprof-pprof-" });
    try {
      for (
        const [name, window] of [["small", smallWindow()], [
          "large",
          largeWindow(2_000, 100),
        ]] as const
      ) {
        const pprofOut = createExporter(`pprof:${dir}/${name}.pb.gz`, {});
        const foldedOut = createExporter(`folded:${dir}/${name}.folded`, {});
        for (const e of [pprofOut, foldedOut]) {
          await e.export(window);
          await e.close();
        }
        const folded = await readFolded(`${dir}/${name}.folded`);
        if (name === "small") {
          const want = new Map(
            [...SMALL_WINDOW_FOLDED].map((
              [k, v],
            ) => [k.replaceAll("_[k]", ""), v]),
          );
          deepStrictEqual(sorted(folded), sorted(want));
        }
        const file = `${dir}/${name}.pb.gz`;
        const traces = parseTraces(
          await pprof([
            "-traces",
            "-tagroot=process",
            "-sample_index=samples",
            file,
          ]),
        );
        deepStrictEqual(
          sorted(traces),
          sorted(folded),
          `${name}: -traces differs from folded`,
        );
        const top = parseTop(
          await pprof([
            "-top",
            "-nodecount=100000",
            "-nodefraction=0",
            "-sample_index=samples",
            file,
          ]),
        );
        deepStrictEqual(
          sorted(top),
          sorted(leafCounts(folded)),
          `${name}: -top differs from folded`,
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
