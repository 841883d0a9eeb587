/**
 * denoprof: a continuous CPU profiler for Go, cgo and native code. An eBPF
 * program samples every CPU; this module turns the samples into symbolized
 * stacks (kernel, native, Go — including both sides of a cgo call) and hands
 * them out as profile windows, which the exporters write as OTLP, pprof or
 * folded stacks.
 *
 * Start a profiler, consume its windows as an async iterable (or
 * `profiler.readable`), and stop it; stopping flushes the last window.
 * Sampling needs root (or CAP_BPF + CAP_PERFMON) and a kernel with BTF.
 *
 * @example Profile this machine for two seconds and print the hottest stack
 * ```ts ignore
 * import { createExporter, foldedStack, startProfiler } from "./mod.ts";
 *
 * const profiler = startProfiler({ frequency: 99, intervalSeconds: 1 });
 * setTimeout(() => profiler.stop(), 2000);
 * const pprof = createExporter("pprof:/tmp/cpu.pb.gz");
 * for await (const window of profiler) {
 *   await pprof.export(window);
 *   for (const p of window.processes) {
 *     const top = [...p.samples].sort((a, b) => b.count - a.count)[0];
 *     if (top) console.log(foldedStack(p.process.name, top.stack), top.count);
 *   }
 * }
 * await pprof.close();
 * console.log(profiler.stats().samples, "samples");
 * ```
 *
 * @example Turn a window into folded text (no kernel needed)
 * ```ts
 * import { accumulateFolded, renderFolded, type ProfileWindow } from "./mod.ts";
 *
 * const window: ProfileWindow = {
 *   startUnixNano: 0n,
 *   durationNano: 1_000_000_000n,
 *   frequency: 19,
 *   processes: [{
 *     process: { pid: 42, name: "demo" },
 *     samples: [{
 *       stack: [
 *         { kind: "native", address: 0x1010n, lines: [{ functionName: "leaf" }] },
 *         { kind: "go", address: 0x2020n, lines: [{ functionName: "main.main" }] },
 *       ],
 *       attributes: { threadId: 42, threadName: "demo", cpu: 0 },
 *       count: 3,
 *       timestampsUnixNano: [1n, 2n, 3n],
 *     }],
 *   }],
 * };
 * const totals = new Map<string, number>();
 * accumulateFolded(window, totals);
 * if (renderFolded(totals) !== "demo;main.main;leaf 3\n") throw new Error("unexpected");
 * ```
 *
 * @module
 */
import { Profiler, type ProfilerOptions } from "./agent/profiler.ts";

export { Profiler } from "./agent/profiler.ts";
export type { ProfilerOptions, ProfilerStats } from "./agent/profiler.ts";
export type * from "./pipeline/model.ts";
export type { Exporter } from "./exporters/exporter.ts";
export { TransientExportError } from "./exporters/exporter.ts";
export { createExporter, exportersFromEnv } from "./exporters/registry.ts";
export { QueuedExporter } from "./exporters/queue.ts";
export {
  accumulateFolded,
  foldedStack,
  renderFolded,
} from "./exporters/folded.ts";
export { checkPrivileges } from "./bpf/mod.ts";

/**
 * Starts profiling: loads the BPF program, attaches it to every online CPU
 * and starts the pipeline. Same as {@linkcode Profiler.start}.
 *
 * @param options Processes (default all), frequency (19 Hz), window length
 *   (5 s), stack copy size, unwinding mode, recording folder.
 * @returns The running profiler; iterate it for windows, `stop()` it to end.
 * @throws {BpfError} when sampling cannot be set up (privileges, BTF, kernel).
 */
export function startProfiler(options: ProfilerOptions = {}): Profiler {
  return Profiler.start(options);
}
