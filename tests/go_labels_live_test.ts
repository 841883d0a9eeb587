/**
 * Issue-5 goroutine attributes, live: samples of a Go program running under
 * `pprof.Do` labels carry the goroutine id and the labels, for the classic
 * map layout (Go ≤ 1.23) and the slice layout (≥ 1.24). Uses the embedding
 * API (mod.ts) in-process. Needs root, BPF and the toolchains; fails under
 * CI=true when they are missing.
 */
import { inCI, requireLive, skipLive } from "../bpf/_live.ts";
import { startProfiler } from "../mod.ts";
import { assert, assertGreaterOrEqual } from "./assert.ts";
import {
  buildFixture,
  listToolchains,
  requireToolchains,
} from "./fixtures/go/toolchains.ts";

const wanted = ["1.21", "1.26"];
const available = listToolchains().filter((t) => wanted.includes(t.version));

Deno.test({
  name:
    "Go samples carry the goroutine id and pprof labels (Go 1.21 map, 1.26 slice)",
  ignore: skipLive || (available.length < wanted.length && !inCI),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    requireLive();
    const toolchains = inCI
      ? requireToolchains().filter((tc) => wanted.includes(tc.version))
      : available;
    for (const tc of toolchains) {
      await t.step(`go${tc.version}`, async () => {
        const bin = await buildFixture(tc, "cgo_shapes", "default");
        const child = new Deno.Command(bin, {
          args: ["labels", "30"],
          stdout: "null",
        }).spawn();
        try {
          const profiler = startProfiler({
            pids: [child.pid],
            frequency: 99,
            intervalSeconds: 1,
          });
          setTimeout(() => profiler.stop(), 2500);
          let total = 0;
          let labelled = 0;
          const goroutines = new Set<number>();
          for await (const w of profiler) {
            for (const p of w.processes) {
              for (const g of p.samples) {
                const inLabelledWork = g.stack.some((l) =>
                  l.lines.some((x) => x.functionName === "c_cb_leaf")
                );
                if (!inLabelledWork) continue;
                total += g.count;
                const labels = g.attributes.goLabels;
                if (labels?.shape === "labels" && labels.request === "r42") {
                  labelled += g.count;
                }
                if (g.attributes.goroutineId !== undefined) {
                  goroutines.add(g.attributes.goroutineId);
                }
              }
            }
          }
          console.log(
            `go${tc.version}: ${labelled}/${total} samples labelled, goroutines ${[
              ...goroutines,
            ]}`,
          );
          assertGreaterOrEqual(
            total,
            10,
            "too few samples in the labelled work",
          );
          assertGreaterOrEqual(labelled / total, 0.95);
          assert(
            goroutines.size === 1,
            `expected one goroutine id, got ${[...goroutines]}`,
          );
        } finally {
          try {
            child.kill("SIGKILL");
          } catch {
            // already exited
          }
          await child.status;
        }
      });
    }
  },
});
