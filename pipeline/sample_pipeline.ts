/**
 * One sample's way through userspace: look up its process, unwind its user
 * stack, symbolize kernel and user frames, and add it to the open window.
 * Every sample that cannot be used is counted under a reason, never thrown.
 *
 * @module
 */
import type { Aggregator } from "./aggregate/mod.ts";
import type { KtimeClock } from "./clock.ts";
import type { Location, ProcessInfo, SampleAttributes } from "./model.ts";
import type { ProcessState, ProcessTable } from "./proc/mod.ts";
import { Flag, type RawSample } from "./record/mod.ts";
import type { Symbolizer } from "./symbolize/symbolizer.ts";

/** A user stack unwound to pcs. */
export interface UserStack {
  /** Pcs innermost first. */
  readonly frames: readonly number[];
  /** Indices (> 0) of frames whose pc is exact (not a return address). */
  readonly exact: readonly number[];
  /** Why the stack is incomplete, when it is. */
  readonly error?: string | undefined;
  /** Go goroutine id found while unwinding, when the sample is in Go. */
  readonly goroutineId?: number | undefined;
  /** pprof labels of that goroutine, when it has any and they were read. */
  readonly goLabels?: Readonly<Record<string, string>> | undefined;
}

/** Unwinds the user stack of a sample. */
export type UserUnwinder = (sample: RawSample, proc: ProcessState) => UserStack;

/** Counters of the pipeline. */
export interface PipelineStats {
  /** Samples that reached the aggregator. */
  samples: number;
  /** Samples whose stack ended in an `[unwind: …]` frame, by reason. */
  unwindErrors: Record<string, number>;
  /** Samples dropped because the process table was full. */
  droppedTableFull: number;
  /** Samples of kernel threads (no user stack). */
  kernelOnly: number;
}

/** Options of {@linkcode SamplePipeline}. */
export interface SamplePipelineOptions {
  /** Process table. */
  readonly table: ProcessTable;
  /** Location interning. */
  readonly symbolizer: Symbolizer;
  /** Window accumulator. */
  readonly aggregator: Aggregator;
  /** ktime → Unix time. */
  readonly clock: KtimeClock;
  /** User stack unwinder. */
  readonly unwind: UserUnwinder;
}

const INFO = "pipeline.info";

/** Turns decoded samples into aggregated, symbolized stacks. */
export class SamplePipeline {
  /** Counters since creation. */
  readonly stats: PipelineStats = {
    samples: 0,
    unwindErrors: {},
    droppedTableFull: 0,
    kernelOnly: 0,
  };
  #o: SamplePipelineOptions;

  /**
   * @param options The stages to connect.
   */
  constructor(options: SamplePipelineOptions) {
    this.#o = options;
  }

  /**
   * Processes one sample.
   *
   * @param s A decoded sample (its byte views are only read during the call).
   */
  ingest(s: RawSample): void {
    const { table, symbolizer, aggregator, clock } = this.#o;
    const proc = table.get(s.pid);
    if (proc === undefined) {
      this.stats.droppedTableFull++;
      return;
    }
    const stack: Location[] = [];
    for (let i = 0; i < s.kstack.length; i++) {
      stack.push(symbolizer.kernel(s.kstack[i]!));
    }
    let goroutineId: number | undefined;
    let goLabels: Readonly<Record<string, string>> | undefined;
    if ((s.flags & Flag.USER_REGS) !== 0 && s.pc !== 0) {
      const user = this.#o.unwind(s, proc);
      goroutineId = user.goroutineId;
      goLabels = user.goLabels;
      const exact = user.exact;
      const resolveModule = (lookupPc: number) => table.resolve(proc, lookupPc);
      for (let i = 0; i < user.frames.length; i++) {
        const pc = user.frames[i]!;
        const isReturn = i > 0 && !exact.includes(i);
        stack.push(symbolizer.user(proc, pc, isReturn, resolveModule));
      }
      if (user.error !== undefined) {
        stack.push(symbolizer.error(user.error));
        this.stats.unwindErrors[user.error] =
          (this.stats.unwindErrors[user.error] ?? 0) + 1;
      }
    } else {
      this.stats.kernelOnly++;
    }
    if (stack.length === 0) {
      // No kernel stack and no user registers: keep the sample (it is real
      // CPU time) but never as an empty stack, which no format can show.
      const reason = s.kstackErr !== 0
        ? "kernel stack unavailable"
        : "no stack";
      stack.push(symbolizer.error(reason));
      this.stats.unwindErrors[reason] = (this.stats.unwindErrors[reason] ?? 0) +
        1;
    }
    const attributes: SampleAttributes = {
      threadId: s.tid,
      threadName: s.comm,
      cpu: s.cpu,
      ...(goroutineId === undefined ? {} : { goroutineId }),
      ...(goLabels === undefined ? {} : { goLabels }),
    };
    aggregator.add(
      processInfo(proc, s),
      stack,
      attributes,
      clock.toUnixNano(s.ktimeNs),
    );
    this.stats.samples++;
  }
}

/** The process's info, built once per process state. */
function processInfo(proc: ProcessState, s: RawSample): ProcessInfo {
  let info = proc.derived.get(INFO) as ProcessInfo | undefined;
  if (info !== undefined) return info;
  const f = proc.facts;
  const exeBase = f.exe?.slice(f.exe.lastIndexOf("/") + 1);
  info = {
    pid: proc.pid,
    // The main thread's comm names the process; a kernel thread has no exe.
    name: f.comm ?? exeBase ?? s.comm,
    ...(f.exe === undefined ? {} : { executablePath: f.exe }),
    ...(f.commandLine === undefined ? {} : { commandLine: f.commandLine }),
    ...(f.containerId === undefined ? {} : { containerId: f.containerId }),
  };
  proc.derived.set(INFO, info);
  return info;
}
