/**
 * Helpers for benchmarks and tests that run the userspace pipeline over a
 * committed recording of tests/fixtures/recordings: open the recording with
 * an object cache and a replay process source, and build the pipeline over
 * it exactly as the agent does (CFI unwinding, recorded kernel symbols and
 * clock offset).
 *
 * @module
 */
import { buildPipeline, type BuiltPipeline } from "../agent/build_pipeline.ts";
import { KtimeClock } from "../pipeline/clock.ts";
import { ObjectCache, type ProcSource } from "../pipeline/proc/mod.ts";
import {
  type LoadedRecording,
  loadRecording,
  ReplayProcSource,
  splitRecords,
} from "../pipeline/recording/mod.ts";
import { KernelSymbols } from "../pipeline/symbolize/kallsyms.ts";

/** A committed recording opened for replay. */
export interface RecordingFixture {
  /** The recording's folder. */
  readonly dir: string;
  /** The recording. */
  readonly rec: LoadedRecording;
  /** The cache the recording's files are opened into. */
  readonly objects: ObjectCache;
  /** The raw sample records, in order. */
  readonly records: Uint8Array[];
  /** A new process source over the recording (fresh process state). */
  newSource(): ReplayProcSource;
}

/**
 * Opens recording `name` of tests/fixtures/recordings.
 *
 * @param name Folder name, e.g. `native-o2`.
 * @returns The recording, its records and a source factory.
 * @throws {SyntaxError|Deno.errors.NotFound} as {@linkcode loadRecording}.
 */
export function openRecordingFixture(name: string): RecordingFixture {
  const dir = new URL(`./fixtures/recordings/${name}`, import.meta.url)
    .pathname;
  const rec = loadRecording(dir);
  const objects = new ObjectCache();
  return {
    dir,
    rec,
    objects,
    records: [...splitRecords(rec.records)],
    newSource: () => new ReplayProcSource(dir, rec.procs, objects, rec.objects),
  };
}

/**
 * Builds the pipeline over a recording with CFI unwinding, as replay does.
 *
 * @param fixture The recording.
 * @param source Process source (default: a new one).
 * @returns The connected stages.
 */
export function buildReplayPipeline(
  fixture: RecordingFixture,
  source: ProcSource = fixture.newSource(),
): BuiltPipeline {
  const { rec } = fixture;
  return buildPipeline({
    source,
    objects: fixture.objects,
    kernel: KernelSymbols.parse(rec.kallsyms),
    frequency: rec.meta.frequency,
    startUnixNano: BigInt(rec.meta.startUnixNano),
    clock: new KtimeClock(BigInt(rec.meta.clockOffsetNs)),
    unwind: "cfi",
  });
}
