/**
 * `deno task replay DIR`: runs the userspace pipeline over a recording made
 * with `deno task agent --record DIR`, offline and deterministically. The
 * pipeline is built exactly as for a live run ({@linkcode buildPipeline}) but
 * over a {@linkcode ReplayProcSource}, with the recorded kernel symbols, the
 * recorded clock offset, and a process clock that follows the samples' ktime;
 * windows close after the same records as they did live. Nothing is read
 * from the host: only DIR.
 *
 * Exit codes: 0 success, 1 unreadable recording, 2 usage.
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { Exporter } from "../exporters/exporter.ts";
import { accumulateFolded, renderFolded } from "../exporters/folded.ts";
import { createExporter, ExporterSpecError } from "../exporters/registry.ts";
import { KtimeClock } from "../pipeline/clock.ts";
import type { ProfileWindow } from "../pipeline/model.ts";
import { objectViewFailures } from "../pipeline/objects.ts";
import { ObjectCache } from "../pipeline/proc/mod.ts";
import { decodeRecord } from "../pipeline/record/mod.ts";
import {
  type LoadedRecording,
  loadRecording,
  ReplayProcSource,
  splitRecords,
} from "../pipeline/recording/mod.ts";
import type { UnwindMode } from "../pipeline/stack_unwinder.ts";
import { KernelSymbols } from "../pipeline/symbolize/kallsyms.ts";
import { buildPipeline } from "./build_pipeline.ts";
import type { ProfilerStats } from "./profiler.ts";
import { SummaryCollector } from "./summary.ts";

/** The `--help` text of `deno task replay`. */
export const REPLAY_USAGE =
  `denoprof replay: run the pipeline over a recording, offline

Usage: deno task replay DIR [options]

Reads DIR (written by \`deno task agent --record DIR\`): the raw sample records,
the process maps, the object files and debug files the live run read, and the
kernel symbols it hit. Unwinds, symbolizes and aggregates them with the same
code as the agent, closing windows after the same records, and never reads
host files. The same DIR and flags give byte-identical output.

Options:
  --exporter KIND:TARGET  where profiles go; repeatable (kinds as for the agent:
                          folded:PATH, pprof:PATH, otlp-file:PATH, otlp-grpc:…,
                          otlp-http:…). folded:- writes folded stacks to stdout.
                          Default: folded:- (and the summary goes to stderr).
  --unwind cfi|fp         user stack unwinding (default: the recorded mode, else cfi)
  --top N                 functions in the summary (default 15)
  --quiet                 no summary
  -h, --help              this text

The summary is the agent's; kernel counters appear only when the recording
carries them. Needs no root, no BPF and no kernel symbols of the host.
`;

/** Options of {@linkcode replayRecording}. */
export interface ReplayOptions {
  /** Unwinding mode; default the recorded one, else `cfi`. */
  unwind?: UnwindMode;
  /** Called with each window as it closes. */
  onWindow?: (window: ProfileWindow) => void | Promise<void>;
}

/** What a replay produced. */
export interface ReplayResult {
  /** Every window, in order. */
  readonly windows: ProfileWindow[];
  /** Counters in the agent's shape (kernel counters as recorded, if at all). */
  readonly stats: ProfilerStats;
  /** The recording. */
  readonly recording: LoadedRecording;
}

/**
 * Replays a recording through the pipeline.
 *
 * @param dir The recording folder.
 * @param options Unwinding mode and a window callback.
 * @returns The windows and counters.
 * @throws {SyntaxError} when the recording is not readable.
 *
 * @example Replay a committed recording
 * ```ts
 * import { replayRecording } from "./replay.ts";
 * const dir = new URL("../tests/fixtures/recordings/native-o2", import.meta.url).pathname;
 * const { stats } = await replayRecording(dir);
 * console.assert(stats.samples > 0);
 * ```
 */
export async function replayRecording(
  dir: string,
  options: ReplayOptions = {},
): Promise<ReplayResult> {
  const rec = loadRecording(dir);
  const meta = rec.meta;
  const objects = new ObjectCache();
  const source = new ReplayProcSource(dir, rec.procs, objects, rec.objects);
  const recordedMode = meta.unwind === "fp" || meta.unwind === "cfi"
    ? meta.unwind
    : undefined;
  const built = buildPipeline({
    source,
    objects,
    kernel: KernelSymbols.parse(rec.kallsyms),
    frequency: meta.frequency,
    startUnixNano: BigInt(meta.startUnixNano),
    clock: new KtimeClock(BigInt(meta.clockOffsetNs)),
    unwind: options.unwind ?? recordedMode ?? "cfi",
  });
  const windowEnds = meta.windowEnds.map((s) => BigInt(s));
  const windows: ProfileWindow[] = [];
  let records = 0;
  let decodeErrors = 0;
  let lastUnix = BigInt(meta.startUnixNano);
  const clock = new KtimeClock(BigInt(meta.clockOffsetNs));
  const all = [...splitRecords(rec.records)];
  let next = 0;
  const closeWindow = async (end: bigint) => {
    const w = built.aggregator.flush(end);
    built.table.sweep();
    windows.push(w);
    await options.onWindow?.(w);
  };
  const ingestUntil = (limit: number, end: bigint | undefined) => {
    for (; next < all.length && next < limit; next++) {
      const bytes = all[next]!;
      let sample;
      try {
        sample = decodeRecord(bytes);
      } catch {
        records++;
        decodeErrors++;
        continue;
      }
      // Without recorded record counts, a window takes the samples before its end.
      if (end !== undefined && clock.toUnixNano(sample.ktimeNs) >= end) return;
      records++;
      source.now = sample.ktimeNs / 1e6;
      built.pipeline.ingest(sample);
      const unix = clock.toUnixNano(sample.ktimeNs);
      if (unix > lastUnix) lastUnix = unix;
    }
  };
  for (let i = 0; i < windowEnds.length; i++) {
    const last = i === windowEnds.length - 1;
    const counted = meta.windowRecords?.[i];
    if (counted !== undefined) {
      ingestUntil(last ? Infinity : counted, undefined);
    } else ingestUntil(Infinity, last ? undefined : windowEnds[i]);
    await closeWindow(windowEnds[i]!);
  }
  if (next < all.length || windowEnds.length === 0) {
    // A recording cut short (no window end written): one window to the last sample.
    ingestUntil(Infinity, undefined);
    await closeWindow(lastUnix + 1n);
  }
  objects.close();
  const p = built.pipeline.stats;
  const stats: ProfilerStats = {
    kernel: { ...(meta.kernelCounters ?? {}) },
    records,
    decodeErrors,
    samples: p.samples,
    unwindErrors: { ...p.unwindErrors },
    windows: windows.length,
    windowsDropped: 0,
    pipeline: {
      kernelOnlySamples: p.kernelOnly,
      droppedTableFull: p.droppedTableFull,
      droppedGroupLimit: built.aggregator.stats.droppedGroupLimit,
      ...prefixed("processes.", built.table.stats),
      ...prefixed("symbols.", built.symbolizer.stats),
      ...prefixed("objects.", objects.stats),
      ...prefixed("go.", built.goTransitions.snapshot()),
      ...prefixed("objectViewFailures.", objectViewFailures),
    },
  };
  return { windows, stats, recording: rec };
}

function prefixed(prefix: string, o: object): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === "number") out[prefix + k] = v;
  }
  return out;
}

/** Parsed `deno task replay` arguments. */
export interface ReplayArgs {
  /** The recording folder. */
  readonly dir: string;
  /** Exporter specs (`folded:-` = stdout). */
  readonly exporters: readonly string[];
  /** Unwinding mode override. */
  readonly unwind: UnwindMode | undefined;
  /** Functions in the summary. */
  readonly top: number;
  /** No summary. */
  readonly quiet: boolean;
  /** `--help`. */
  readonly help: boolean;
}

/**
 * Parses `deno task replay` arguments.
 *
 * @param args Arguments after the program name.
 * @returns The options.
 * @throws {TypeError} on a bad flag or a missing DIR.
 *
 * @example
 * ```ts
 * import { parseReplayArgs } from "./replay.ts";
 * const a = parseReplayArgs(["rec", "--unwind", "fp"]);
 * console.assert(a.dir === "rec" && a.unwind === "fp" && a.exporters[0] === "folded:-");
 * ```
 */
export function parseReplayArgs(args: readonly string[]): ReplayArgs {
  const { values: v, positionals } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: true,
    options: {
      exporter: { type: "string", multiple: true },
      unwind: { type: "string" },
      top: { type: "string" },
      quiet: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  const help = v.help ?? false;
  if (positionals.length !== 1 && !help) {
    throw new TypeError(
      `replay takes exactly one recording folder: got ${positionals.length}`,
    );
  }
  if (v.unwind !== undefined && v.unwind !== "cfi" && v.unwind !== "fp") {
    throw new TypeError(
      `--unwind must be cfi or fp: got ${JSON.stringify(v.unwind)}`,
    );
  }
  const top = v.top === undefined ? 15 : Number(v.top);
  if (!Number.isInteger(top) || top <= 0) {
    throw new TypeError(
      `--top must be a positive whole number: got ${JSON.stringify(v.top)}`,
    );
  }
  return {
    dir: positionals[0] ?? "",
    exporters: v.exporter ?? ["folded:-"],
    unwind: v.unwind as UnwindMode | undefined,
    top,
    quiet: v.quiet ?? false,
    help,
  };
}

async function main(args: string[]): Promise<number> {
  let a: ReplayArgs;
  try {
    a = parseReplayArgs(args);
  } catch (err) {
    console.error(
      `denoprof replay: ${(err as Error).message}\n\n${REPLAY_USAGE}`,
    );
    return 2;
  }
  if (a.help) {
    console.log(REPLAY_USAGE);
    return 0;
  }
  let toStdout = false;
  const exporters: Exporter[] = [];
  try {
    for (const spec of a.exporters) {
      if (spec === "folded:-") toStdout = true;
      else exporters.push(createExporter(spec));
    }
  } catch (err) {
    if (!(err instanceof ExporterSpecError)) throw err;
    console.error(`denoprof replay: ${err.message}\n\n${REPLAY_USAGE}`);
    return 2;
  }
  const summary = new SummaryCollector();
  const totals = new Map<string, number>();
  let result: ReplayResult;
  try {
    result = await replayRecording(a.dir, {
      ...(a.unwind === undefined ? {} : { unwind: a.unwind }),
      onWindow: async (w) => {
        summary.add(w);
        if (toStdout) accumulateFolded(w, totals);
        for (const e of exporters) await e.export(w);
      },
    });
  } catch (err) {
    if (err instanceof SyntaxError || err instanceof Deno.errors.NotFound) {
      console.error(`denoprof replay: cannot replay ${a.dir}: ${err.message}`);
      return 1;
    }
    throw err;
  }
  for (const e of exporters) await e.close();
  if (toStdout) await writeAll(Deno.stdout, renderFolded(totals));
  // Keep stdout pure folded text when the stacks go there.
  const log = toStdout ? console.error : console.log;
  if (!a.quiet) {
    log(summary.render(result.stats, a.top));
    for (const e of exporters) {
      log(`Exporter ${e.name}: ${result.windows.length} window(s) exported`);
    }
  }
  log(`denoprof-stats ${JSON.stringify(result.stats)}`);
  return 0;
}

async function writeAll(
  out: { write(p: Uint8Array): Promise<number> },
  text: string,
): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  let done = 0;
  while (done < bytes.length) done += await out.write(bytes.subarray(done));
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
