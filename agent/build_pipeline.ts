/**
 * Connects the userspace stages the same way for a live run and a replay:
 * process table over a {@linkcode ProcSource}, symbolizer, aggregator, and
 * the sample pipeline with the chosen unwinder.
 *
 * @module
 */
import { Aggregator } from "../pipeline/aggregate/mod.ts";
import type { KtimeClock } from "../pipeline/clock.ts";
import {
  type ObjectCache,
  ProcessTable,
  type ProcSource,
} from "../pipeline/proc/mod.ts";
import { SamplePipeline } from "../pipeline/sample_pipeline.ts";
import type { KernelSymbols } from "../pipeline/symbolize/kallsyms.ts";
import { Symbolizer } from "../pipeline/symbolize/symbolizer.ts";
import type { PerfMaps } from "../pipeline/symbolize/perf_map.ts";
import { defaultFileSymbolizer } from "../pipeline/symbolize/file_symbolizer.ts";
import {
  makeUserUnwinder,
  type UnwindMode,
} from "../pipeline/stack_unwinder.ts";
import { UnwindCounters } from "../pipeline/unwind/mod.ts";
import { GoTransitionCounters } from "../pipeline/golang/cgo.ts";
import type { GoLabelReader } from "../pipeline/golang/labels.ts";

/** What {@linkcode buildPipeline} needs. */
export interface PipelineParts {
  /** Where process state comes from. */
  readonly source: ProcSource;
  /** The object cache `source` opens files into. */
  readonly objects: ObjectCache;
  /** Kernel symbols. */
  readonly kernel: KernelSymbols;
  /** Sampling frequency, Hz. */
  readonly frequency: number;
  /** Start of the first window, Unix ns. */
  readonly startUnixNano: bigint;
  /** ktime → Unix time. */
  readonly clock: KtimeClock;
  /** Unwinding mode. */
  readonly unwind: UnwindMode;
  /** Reads pprof labels of live Go processes (absent in replay). */
  readonly goLabels?: GoLabelReader | undefined;
  /** Counters to count cgo crossings into (default: new ones). */
  readonly goTransitions?: GoTransitionCounters | undefined;
  /** Names JIT code from perf maps (live only: replay has no such files). */
  readonly jit?: PerfMaps | undefined;
}

/** The connected stages. */
export interface BuiltPipeline {
  /** Process table. */
  readonly table: ProcessTable;
  /** Location interning. */
  readonly symbolizer: Symbolizer;
  /** Window accumulator. */
  readonly aggregator: Aggregator;
  /** Sample ingestion. */
  readonly pipeline: SamplePipeline;
  /** Unwind outcomes by reason (`complete` for stacks that reached a root). */
  readonly unwindCounters: UnwindCounters;
  /** Outcomes of the cgo crossings and goroutine label reads. */
  readonly goTransitions: GoTransitionCounters;
}

/**
 * Builds the userspace pipeline.
 *
 * @param parts Sources and settings.
 * @returns The stages.
 */
export function buildPipeline(parts: PipelineParts): BuiltPipeline {
  const table = new ProcessTable(parts.source);
  const symbolizer = new Symbolizer(parts.kernel, {
    fileSymbolizer: defaultFileSymbolizer,
    ...(parts.jit === undefined ? {} : { jit: parts.jit }),
  });
  const aggregator = new Aggregator({
    frequency: parts.frequency,
    startUnixNano: parts.startUnixNano,
  });
  const unwindCounters = new UnwindCounters();
  const goTransitions = parts.goTransitions ?? new GoTransitionCounters();
  const pipeline = new SamplePipeline({
    table,
    symbolizer,
    aggregator,
    clock: parts.clock,
    unwind: makeUserUnwinder(parts.unwind, table, unwindCounters, {
      transitions: goTransitions,
      labels: parts.goLabels,
    }),
  });
  return {
    table,
    symbolizer,
    aggregator,
    pipeline,
    unwindCounters,
    goTransitions,
  };
}
