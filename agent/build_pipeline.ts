/**
 * Connects the userspace stages the same way for a live run and a replay:
 * process table over a {@linkcode ProcSource}, symbolizer, aggregator, and
 * the sample pipeline with the chosen unwinder.
 *
 * @module
 */
import { Aggregator } from "../pipeline/aggregate/mod.ts";
import type { KtimeClock } from "../pipeline/clock.ts";
import { type ObjectCache, ProcessTable, type ProcSource } from "../pipeline/proc/mod.ts";
import { SamplePipeline } from "../pipeline/sample_pipeline.ts";
import type { KernelSymbols } from "../pipeline/symbolize/kallsyms.ts";
import { Symbolizer } from "../pipeline/symbolize/symbolizer.ts";
import { fileSymbolizer } from "./file_symbolizer.ts";
import { makeUnwinder, type UnwindMode } from "./unwinders.ts";

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
}

/**
 * Builds the userspace pipeline.
 *
 * @param parts Sources and settings.
 * @returns The stages.
 */
export function buildPipeline(parts: PipelineParts): BuiltPipeline {
  const table = new ProcessTable(parts.source);
  const symbolizer = new Symbolizer(parts.kernel, { fileSymbolizer });
  const aggregator = new Aggregator({
    frequency: parts.frequency,
    startUnixNano: parts.startUnixNano,
  });
  const pipeline = new SamplePipeline({
    table,
    symbolizer,
    aggregator,
    clock: parts.clock,
    unwind: makeUnwinder(parts.unwind, table),
  });
  return { table, symbolizer, aggregator, pipeline };
}
