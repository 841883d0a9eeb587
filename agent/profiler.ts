/**
 * The running profiler: the sampler in the kernel, the pipeline in userspace
 * and a stream of profile windows out. This is what mod.ts exposes and the
 * CLI drives. Work happens on two timers: a short poll that drains the ring
 * buffer and pushes each record through the pipeline, and the reporting
 * interval that closes a window. Windows go to a bounded queue; a consumer
 * that falls behind loses the oldest windows (counted), never the sampling.
 *
 * @module
 */
import { Sampler } from "../bpf/mod.ts";
import type { Aggregator } from "../pipeline/aggregate/mod.ts";
import { KtimeClock, realtimeNs } from "../pipeline/clock.ts";
import type { ProfileWindow } from "../pipeline/model.ts";
import {
  LiveProcSource,
  ObjectCache,
  type ProcessTable,
  type ProcSource,
} from "../pipeline/proc/mod.ts";
import { decodeRecord } from "../pipeline/record/mod.ts";
import type { SamplePipeline } from "../pipeline/sample_pipeline.ts";
import { KernelSymbols } from "../pipeline/symbolize/kallsyms.ts";
import type { Symbolizer } from "../pipeline/symbolize/symbolizer.ts";
import { checkGoProcess } from "../pipeline/go_process.ts";
import { buildPipeline } from "./build_pipeline.ts";
import { GoTransitionCounters } from "../pipeline/golang/cgo.ts";
import { ProcGoLabelReader } from "../pipeline/golang/labels.ts";
import { Recorder } from "./recorder.ts";
import { PerfMaps } from "../pipeline/symbolize/perf_map.ts";
import type { UnwindMode } from "../pipeline/stack_unwinder.ts";

/** Options of {@linkcode Profiler.start}. */
export interface ProfilerOptions {
  /** Processes to profile; empty or absent = the whole system. */
  pids?: readonly number[];
  /** Samples per second per CPU (default 19). */
  frequency?: number;
  /** Seconds per window (default 5). */
  intervalSeconds?: number;
  /** User stack bytes copied per sample (default 16384). */
  stackBytes?: number;
  /** CFI (default) or frame pointers only. */
  unwind?: UnwindMode;
  /** Ring buffer poll period in ms (default 100). */
  pollMs?: number;
  /** Windows kept for a slow consumer before the oldest is dropped (default 16). */
  maxQueuedWindows?: number;
  /** Also record raw samples, process reads and object files into this folder. */
  recordDir?: string;
}

/** Everything the profiler counts. */
export interface ProfilerStats {
  /** Kernel-side counters (samples, ringbufFull, ustackFault, ...). */
  kernel: Record<string, number>;
  /** Records drained from the ring buffer. */
  records: number;
  /** Records that failed to decode. */
  decodeErrors: number;
  /** Samples that reached a window. */
  samples: number;
  /** Stacks that ended in `[unwind: REASON]`, by reason. */
  unwindErrors: Record<string, number>;
  /** Windows produced. */
  windows: number;
  /** Windows dropped because the consumer was slow. */
  windowsDropped: number;
  /** Other pipeline counters (process table, symbolizer, object cache). */
  pipeline: Record<string, number>;
  /** First messages of samples the pipeline could not process (see `pipeline.pipelineErrors`). */
  errorMessages?: string[];
}

/**
 * A started profiler. Iterate it (or read {@linkcode Profiler.readable}) for
 * windows; {@linkcode Profiler.stop} flushes the last window and ends the
 * iteration.
 *
 * @example Profile this process for a second (needs root)
 * ```ts ignore
 * import { Profiler } from "./profiler.ts";
 * const p = Profiler.start({ pids: [Deno.pid], frequency: 99, intervalSeconds: 1 });
 * setTimeout(() => p.stop(), 1000);
 * for await (const w of p) console.log(w.processes.length);
 * ```
 */
export class Profiler implements AsyncIterable<ProfileWindow> {
  #sampler: Sampler;
  #pipeline: SamplePipeline;
  #aggregator: Aggregator;
  #table: ProcessTable;
  #symbolizer: Symbolizer;
  #objects: ObjectCache;
  #recorder: Recorder | undefined;
  #clock: KtimeClock;
  #frequency: number;
  #kernelSymbols: KernelSymbols;
  #firstWindowStart: bigint;
  #poll: ReturnType<typeof setInterval>;
  #tick: ReturnType<typeof setInterval>;
  #queue: ProfileWindow[] = [];
  #maxQueued: number;
  #waiters: (() => void)[] = [];
  #stopped = false;
  #stopping: Promise<void> | undefined;
  #records = 0;
  #decodeErrors = 0;
  #windowsDropped = 0;
  #lastKernel: Record<string, number> = {};
  #unwindMode: UnwindMode;
  #pids: readonly number[] | undefined;
  #goChecked = new Map<number, number | undefined>();
  #pipelineErrors = 0;
  #pipelineErrorMessages: string[] = [];
  #goProcesses = 0;
  #goUnsupported = 0;
  #goTransitions = new GoTransitionCounters();
  #perfMaps = new PerfMaps();
  #goLabels = new ProcGoLabelReader({ counters: this.#goTransitions });

  private constructor(options: ProfilerOptions, sampler: Sampler) {
    this.#sampler = sampler;
    const frequency = options.frequency ?? 19;
    this.#frequency = frequency;
    this.#unwindMode = options.unwind ?? "cfi";
    this.#pids = options.pids?.length ? options.pids : undefined;
    this.#objects = new ObjectCache();
    let source: ProcSource = new LiveProcSource(this.#objects);
    if (options.recordDir !== undefined) {
      this.#recorder = new Recorder(options.recordDir, source);
      source = this.#recorder.source;
    }
    this.#kernelSymbols = KernelSymbols.load();
    this.#clock = KtimeClock.measure();
    this.#firstWindowStart = realtimeNs();
    const built = buildPipeline({
      source,
      objects: this.#objects,
      kernel: this.#kernelSymbols,
      frequency,
      startUnixNano: this.#firstWindowStart,
      clock: this.#clock,
      unwind: options.unwind ?? "cfi",
      goLabels: this.#goLabels,
      goTransitions: this.#goTransitions,
      jit: this.#perfMaps,
    });
    this.#table = built.table;
    this.#symbolizer = built.symbolizer;
    this.#aggregator = built.aggregator;
    this.#pipeline = built.pipeline;
    this.#maxQueued = options.maxQueuedWindows ?? 16;
    // Tell the kernel side about Go processes before their first sample, so
    // no early cgo sample lacks the g data it needs to cross stacks.
    for (const pid of options.pids?.length ? options.pids : listPids()) {
      this.#checkGo(pid);
    }
    // With --pid the sampler starts with an empty filter (see start()): the
    // pids are sampled only now, once their Go registration is in place.
    if (options.pids?.length) {
      for (const pid of options.pids) sampler.addPid(pid);
    }
    this.#poll = setInterval(() => this.#drain(), options.pollMs ?? 100);
    this.#tick = setInterval(
      () => this.#closeWindow(),
      (options.intervalSeconds ?? 5) * 1000,
    );
  }

  /**
   * The windows as a stream. Use either the stream or the async iterator:
   * both take windows from the same queue.
   */
  get readable(): ReadableStream<ProfileWindow> {
    return new ReadableStream<ProfileWindow>({
      pull: async (controller) => {
        const w = await this.#next();
        if (w === undefined) controller.close();
        else controller.enqueue(w);
      },
    }, { highWaterMark: 0 });
  }

  /**
   * Loads the BPF program, attaches it on every CPU and starts the pipeline.
   *
   * @param options What to profile and how.
   * @returns The running profiler.
   * @throws {BpfError} when the kernel side cannot be set up (privileges, BTF).
   */
  static start(options: ProfilerOptions = {}): Profiler {
    const pids = options.pids && options.pids.length > 0
      ? options.pids
      : undefined;
    const sampler = Sampler.open({
      frequency: options.frequency ?? 19,
      ustackMax: options.stackBytes ?? 16384,
      // Filter on, no pid yet: the constructor adds them after telling the
      // kernel side which are Go (parsing a Go binary takes a while, and a
      // sample taken before that lacks the g data stack switches need).
      ...(pids === undefined ? {} : { pids: [] }),
    });
    try {
      return new Profiler(options, sampler);
    } catch (err) {
      sampler.close();
      throw err;
    }
  }

  /** Current counters. */
  stats(): ProfilerStats {
    if (!this.#stopped) this.#lastKernel = this.#sampler.counters();
    const p = this.#pipeline.stats;
    return {
      kernel: { ...this.#lastKernel },
      records: this.#records,
      decodeErrors: this.#decodeErrors,
      samples: p.samples,
      unwindErrors: { ...p.unwindErrors },
      windows: this.#aggregator.stats.windows,
      windowsDropped: this.#windowsDropped,
      errorMessages: [...this.#pipelineErrorMessages],
      pipeline: {
        kernelOnlySamples: p.kernelOnly,
        droppedTableFull: p.droppedTableFull,
        droppedGroupLimit: this.#aggregator.stats.droppedGroupLimit,
        pipelineErrors: this.#pipelineErrors,
        goProcesses: this.#goProcesses,
        goUnsupported: this.#goUnsupported,
        ...prefixed("processes.", { ...this.#table.stats }),
        ...prefixed("symbols.", { ...this.#symbolizer.stats }),
        ...prefixed("objects.", { ...this.#objects.stats }),
        ...prefixed("go.", this.#goTransitions.snapshot()),
        ...prefixed("perfMaps.", { ...this.#perfMaps.stats }),
      },
    };
  }

  /**
   * Stops sampling, drains what is left, closes the last window and ends the
   * stream. Safe to call more than once.
   */
  stop(): Promise<void> {
    // Synchronous work, but callers await it: keep the Promise shape so a
    // future asynchronous flush does not change the API.
    this.#stopping ??= Promise.resolve().then(() => {
      clearInterval(this.#poll);
      clearInterval(this.#tick);
      this.#drain();
      this.#lastKernel = this.#sampler.counters();
      this.#closeWindow();
      this.#stopped = true;
      this.#sampler.close();
      this.#recorder?.finish(
        {
          frequency: this.#frequency,
          clockOffsetNs: this.#clock.offsetNs,
          startUnixNano: this.#firstWindowStart,
          unwind: this.#unwindMode,
          kernelCounters: this.#lastKernel,
          ...(this.#pids === undefined ? {} : { pids: this.#pids }),
        },
        this.#kernelSymbols,
      );
      this.#objects.close();
      this.#goLabels.close();
      this.#wake();
    });
    return this.#stopping;
  }

  /** Iterates windows until {@linkcode Profiler.stop}. */
  async *[Symbol.asyncIterator](): AsyncIterator<ProfileWindow> {
    while (true) {
      const w = await this.#next();
      if (w === undefined) return;
      yield w;
    }
  }

  #drain(): void {
    if (this.#stopped) return;
    this.#sampler.drain((bytes) => {
      this.#records++;
      this.#recorder?.record(bytes);
      let sample;
      try {
        sample = decodeRecord(bytes);
      } catch {
        this.#decodeErrors++;
        return;
      }
      try {
        this.#pipeline.ingest(sample);
        if (!this.#goChecked.has(sample.pid)) this.#checkGo(sample.pid);
      } catch (err) {
        // Every parser throws only on bad bytes and is caught where it runs;
        // this is the last guard so one unforeseen sample cannot stop the
        // agent. Counted, and the first messages kept for the summary.
        this.#pipelineErrors++;
        if (this.#pipelineErrorMessages.length < 5) {
          this.#pipelineErrorMessages.push(
            `pid ${sample.pid}: ${(err as Error)?.message ?? err}`,
          );
        }
      }
    });
  }

  /** Tells the kernel side about a Go process on its first sample. */
  #checkGo(pid: number): void {
    const proc = this.#table.get(pid);
    this.#goChecked.set(pid, proc?.facts.startTime);
    if (proc === undefined) return;
    const check = checkGoProcess(this.#table, proc);
    if (check.kind === "go") {
      try {
        this.#sampler.setGoProcess(pid, check.config);
        this.#goProcesses++;
      } catch {
        this.#goUnsupported++;
      }
    } else if (check.kind === "unsupported") {
      this.#goUnsupported++;
    }
  }

  /** Forgets Go registrations of processes that exited or were replaced. */
  #sweepGo(): void {
    for (const [pid, start] of this.#goChecked) {
      const proc = this.#table.peek(pid);
      if (proc === undefined || proc.facts.startTime !== start) {
        this.#goChecked.delete(pid);
        try {
          this.#sampler.clearGoProcess(pid);
        } catch {
          // not registered
        }
      }
    }
  }

  #closeWindow(): void {
    if (this.#stopped) return;
    this.#drain();
    const end = realtimeNs();
    this.#recorder?.noteWindowEnd(end);
    const w = this.#aggregator.flush(end);
    this.#table.sweep();
    this.#sweepGo();
    this.#perfMaps.retain((pid) => this.#table.peek(pid) !== undefined);
    if (this.#queue.length >= this.#maxQueued) {
      this.#queue.shift();
      this.#windowsDropped++;
    }
    this.#queue.push(w);
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  async #next(): Promise<ProfileWindow | undefined> {
    while (true) {
      const w = this.#queue.shift();
      if (w !== undefined) return w;
      if (this.#stopped) return undefined;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }
}

function prefixed(prefix: string, o: object): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === "number") out[prefix + k] = v;
  }
  return out;
}

/** Pids of every process now running. */
function listPids(): number[] {
  const pids: number[] = [];
  try {
    for (const e of Deno.readDirSync("/proc")) {
      const pid = Number(e.name);
      if (
        e.isDirectory && Number.isInteger(pid) && pid > 0 && pid !== Deno.pid
      ) pids.push(pid);
    }
  } catch {
    // no procfs: processes are checked on their first sample instead
  }
  return pids;
}
