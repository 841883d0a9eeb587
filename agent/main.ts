/**
 * `deno task agent`: the command-line agent. Parses flags, sets up the
 * exporters (or the embedded default), starts the profiler, feeds every
 * window to every exporter through its own bounded queue, and on
 * `--duration`, SIGINT or SIGTERM flushes, prints a summary and exits 0.
 *
 * Exit codes: 0 success, 1 cannot profile (privileges, BTF, kernel), 2 usage.
 *
 * @module
 */
import { BpfError, checkPrivileges } from "../bpf/mod.ts";
import type { Exporter } from "../exporters/exporter.ts";
import { QueuedExporter } from "../exporters/queue.ts";
import {
  createExporter,
  exportersFromEnv,
  ExporterSpecError,
} from "../exporters/registry.ts";
import {
  DEFAULT_EMBEDDED_DURATION_SECONDS,
  parseAgentArgs,
  USAGE,
  UsageError,
} from "./options.ts";
import { Profiler } from "./profiler.ts";
import { SummaryCollector } from "./summary.ts";

function usageExit(message: string): never {
  console.error(`denoprof: ${message}\n`);
  console.error(USAGE);
  Deno.exit(2);
}

function timestamp(): string {
  return new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "")
    .replace("T", "-");
}

async function main(args: string[]): Promise<number> {
  let options;
  try {
    options = parseAgentArgs(args);
  } catch (err) {
    if (err instanceof UsageError) usageExit(err.message);
    throw err;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  let exporters: Exporter[];
  try {
    exporters = options.exporters.map((spec) => createExporter(spec));
  } catch (err) {
    if (err instanceof ExporterSpecError) usageExit(err.message);
    throw err;
  }
  if (exporters.length === 0) exporters = exportersFromEnv();
  let duration = options.durationSeconds;
  let outputDir: string | undefined;
  if (exporters.length === 0) {
    // The embedded default: no server needed, a short whole-run profile.
    outputDir = `${options.outputDir}/${timestamp()}`;
    await Deno.mkdir(outputDir, { recursive: true });
    exporters = [
      "folded:profile.folded",
      "pprof:profile.pb.gz",
      "otlp-file:profile.otlp.pb",
    ].map(
      (s) => createExporter(s.replace(":", `:${outputDir}/`)),
    );
    duration ??= DEFAULT_EMBEDDED_DURATION_SECONDS;
  }
  const problem = checkPrivileges();
  if (problem !== undefined) {
    console.error(`denoprof: cannot profile: ${problem}`);
    return 1;
  }
  let profiler: Profiler;
  try {
    profiler = Profiler.start({
      pids: options.pids,
      frequency: options.frequency,
      intervalSeconds: options.intervalSeconds,
      stackBytes: options.stackBytes,
      unwind: options.unwind,
      ...(options.recordDir === undefined
        ? {}
        : { recordDir: options.recordDir }),
    });
  } catch (err) {
    if (err instanceof BpfError) {
      console.error(`denoprof: cannot profile: ${err.message}`);
      return 1;
    }
    throw err;
  }
  const queues = exporters.map((e) => new QueuedExporter(e));
  let stopping = false;
  const stop = () => {
    if (!stopping && !options.quiet) {
      console.error("denoprof: stopping: flushing the last window");
    }
    stopping = true;
    void profiler.stop();
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  const timer = duration === undefined
    ? undefined
    : setTimeout(stop, duration * 1000);
  if (!options.quiet) {
    console.error(
      `denoprof: sampling ${
        options.pids.length > 0 ? `pid ${options.pids.join(",")}` : "all CPUs"
      } at ${options.frequency} Hz` +
        (duration === undefined
          ? " until SIGINT/SIGTERM"
          : ` for ${duration} s`) +
        `; exporting to ${exporters.map((e) => e.name).join(", ")}`,
    );
  }
  const summary = new SummaryCollector();
  for await (const window of profiler) {
    summary.add(window);
    for (const q of queues) q.enqueue(window);
  }
  if (timer !== undefined) clearTimeout(timer);
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
  await Promise.all(queues.map((q) => q.close()));
  const stats = profiler.stats();
  if (!options.quiet) {
    console.log(summary.render(stats, options.top));
    for (const q of queues) {
      const s = q.stats();
      console.log(
        `Exporter ${q.name}: ${s.exported} exported, ${s.retried} retried, ${s.dropped} dropped, ${s.failed} failed`,
      );
    }
    if (outputDir !== undefined) console.log(`Outputs: ${outputDir}/`);
  }
  // A machine-readable last line for scripts and tests.
  console.log(
    `denoprof-stats ${
      JSON.stringify({
        ...stats,
        exported: queues.map((q) => ({ name: q.name, ...q.stats() })),
      })
    }`,
  );
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
