/**
 * Groups symbolized samples per process over a reporting window and hands the
 * window out as a {@linkcode ProfileWindow}. A group is one stack (by location
 * identity) with one attribute set; samples carry their own timestamps.
 *
 * Memory is bounded per window by `maxGroups`: beyond it, new distinct
 * groups are dropped and counted (existing groups still count their samples).
 *
 * @module
 */
import type {
  Location,
  ProcessInfo,
  ProcessProfile,
  ProfileWindow,
  SampleAttributes,
  SampleGroup,
} from "../model.ts";

interface MutableGroup {
  stack: readonly Location[];
  attributes: SampleAttributes;
  count: number;
  timestampsUnixNano: bigint[];
}

interface MutableProcess {
  info: ProcessInfo;
  groups: Map<string, MutableGroup>;
}

/** Counters of the aggregator. */
export interface AggregatorStats {
  /** Samples added to a group. */
  samples: number;
  /** Samples dropped because the window held `maxGroups` groups. */
  droppedGroupLimit: number;
  /** Windows handed out. */
  windows: number;
}

/** Options of {@linkcode Aggregator}. */
export interface AggregatorOptions {
  /** Sampling frequency in Hz, copied into every window. */
  frequency: number;
  /** Start of the first window, Unix nanoseconds. */
  startUnixNano: bigint;
  /** Most distinct groups in one window (default 200000). */
  maxGroups?: number;
}

/** Accumulates one window at a time. */
export class Aggregator {
  /** Counters since creation. */
  readonly stats: AggregatorStats = {
    samples: 0,
    droppedGroupLimit: 0,
    windows: 0,
  };
  #frequency: number;
  #maxGroups: number;
  #start: bigint;
  #procs = new Map<number, MutableProcess>();
  #groups = 0;
  #ids = new WeakMap<Location, number>();
  #nextId = 1;

  /**
   * @param options Frequency, first window start, bounds.
   */
  constructor(options: AggregatorOptions) {
    this.#frequency = options.frequency;
    this.#start = options.startUnixNano;
    this.#maxGroups = options.maxGroups ?? 200000;
  }

  /** Start of the open window, Unix nanoseconds. */
  get windowStart(): bigint {
    return this.#start;
  }

  /**
   * Adds one sample.
   *
   * @param process The process it belongs to (its first sample's info is kept).
   * @param stack Locations, leaf first.
   * @param attributes Thread, cpu and Go attributes.
   * @param timestampUnixNano When it was taken.
   */
  add(
    process: ProcessInfo,
    stack: readonly Location[],
    attributes: SampleAttributes,
    timestampUnixNano: bigint,
  ): void {
    let proc = this.#procs.get(process.pid);
    if (proc === undefined) {
      proc = { info: process, groups: new Map() };
      this.#procs.set(process.pid, proc);
    }
    const key = this.#key(stack, attributes);
    let group = proc.groups.get(key);
    if (group === undefined) {
      if (this.#groups >= this.#maxGroups) {
        this.stats.droppedGroupLimit++;
        return;
      }
      group = { stack, attributes, count: 0, timestampsUnixNano: [] };
      proc.groups.set(key, group);
      this.#groups++;
    }
    group.count++;
    group.timestampsUnixNano.push(timestampUnixNano);
    this.stats.samples++;
  }

  /**
   * Closes the open window at `endUnixNano` and starts the next one there.
   * Timestamps are clamped into the window: a sample drained just after the
   * boundary was taken just before it.
   *
   * @param endUnixNano End of the window.
   * @returns The window.
   */
  flush(endUnixNano: bigint): ProfileWindow {
    const start = this.#start;
    const end = endUnixNano > start ? endUnixNano : start + 1n;
    const processes: ProcessProfile[] = [];
    for (const proc of this.#procs.values()) {
      const samples: SampleGroup[] = [];
      for (const g of proc.groups.values()) {
        const ts = g.timestampsUnixNano;
        for (let i = 0; i < ts.length; i++) {
          const t = ts[i]!;
          if (t < start) ts[i] = start;
          else if (t >= end) ts[i] = end - 1n;
        }
        samples.push(g);
      }
      processes.push({ process: proc.info, samples });
    }
    this.#procs = new Map();
    this.#groups = 0;
    this.#start = end;
    this.stats.windows++;
    return {
      startUnixNano: start,
      durationNano: end - start,
      frequency: this.#frequency,
      processes,
    };
  }

  #key(stack: readonly Location[], a: SampleAttributes): string {
    let key = "";
    for (const loc of stack) {
      let id = this.#ids.get(loc);
      if (id === undefined) {
        id = this.#nextId++;
        this.#ids.set(loc, id);
      }
      key += id + ",";
    }
    key += `|${a.threadId}|${a.cpu}|${a.threadName}`;
    if (a.goroutineId !== undefined) key += `|g${a.goroutineId}`;
    if (a.goLabels !== undefined) key += `|${JSON.stringify(a.goLabels)}`;
    return key;
  }
}
