/**
 * The recording format (`deno task agent --record DIR`, `deno task replay DIR`):
 * everything the pipeline read during a live run, so replay runs the same code
 * on the same bytes without a kernel or any host file, deterministically.
 *
 * ```
 * DIR/meta.json       RecordingMeta
 * DIR/records.bin     raw ring buffer records, each framed as u32 length,
 *                     u32 0, the record, zero padding to 8 bytes; may be
 *                     stored gzipped as DIR/records.bin.gz instead
 * DIR/procs.json      per pid: facts, every maps text read (in order), and for
 *                     each opened mapping the object id or why it failed
 * DIR/objects.json    per object id: its path, size, and its debug file's id
 *                     (version 2)
 * DIR/objects/ID.gz   the gzipped bytes of each object file read, once per
 *                     identity (version 1: DIR/objects/ID, not compressed)
 * DIR/objects/ID.debug.gz  the separate debug file found for object ID,
 *                     reduced to its symbol, note and line sections
 *                     (see slim_elf.ts)
 * DIR/kallsyms        the kernel text symbols the recorded kernel stacks hit
 * ```
 *
 * Version history: 1 — first format; 2 — gzipped objects, debug files,
 * objects.json, and optional `windowRecords`, `unwind`, `kernelCounters`,
 * `pids` in meta.json. Readers accept both.
 *
 * @module
 */
import type { ProcFacts } from "../proc/process_info.ts";

/** Name in {@linkcode RecordingMeta.format}. */
export const RECORDING_FORMAT = "denoprof-recording";
/** Current version. */
export const RECORDING_VERSION = 2;
/** Versions a replay can read. */
export const READABLE_RECORDING_VERSIONS: readonly number[] = [1, 2];

/** DIR/meta.json. */
export interface RecordingMeta {
  /** Always {@linkcode RECORDING_FORMAT}. */
  format: string;
  /** {@linkcode RECORDING_VERSION}. */
  version: number;
  /** Sampling frequency, Hz. */
  frequency: number;
  /** Unix ns − monotonic ns at record time (decimal string). */
  clockOffsetNs: string;
  /** Start of the first window, Unix ns (decimal string). */
  startUnixNano: string;
  /** End of each window, Unix ns (decimal strings). */
  windowEnds: string[];
  /**
   * Records written before each window closed (same length as `windowEnds`),
   * so replay closes windows after exactly the same records.
   */
  windowRecords?: number[];
  /** Unwinding mode of the live run, when known (`cfi` or `fp`). */
  unwind?: string;
  /** Kernel-side counters at the end of the live run, when known. */
  kernelCounters?: Record<string, number>;
  /** Processes profiled (`--pid`), empty or absent for the whole system. */
  pids?: number[];
  /** `Deno.build.arch` of the recording machine. */
  arch: string;
  /** Kernel release. */
  kernel: string;
}

/** One process in DIR/procs.json. */
export interface RecordedProcess {
  /** Facts as first read. */
  facts: ProcFacts;
  /** Each maps text read, in order. */
  maps: string[];
  /** Mapping start (hex) → object id, or the failure. */
  objects: Record<string, string>;
}

/** DIR/procs.json. */
export type RecordedProcesses = Record<string, RecordedProcess>;

/** One object file in DIR/objects.json. */
export interface RecordedObject {
  /** Path of the file in the recorded process. */
  path: string;
  /** Size in bytes (uncompressed). */
  size: number;
  /** Left out for being larger than the recording limit. */
  skipped?: boolean;
  /**
   * Id of its debug file (stored as `objects/ID.gz` like any object), `""`
   * when the lookup found none; absent when symbolization never looked.
   */
  debug?: string;
  /** For debug files: the path found on the recording host. */
  debugPath?: string;
}

/** DIR/objects.json. */
export type RecordedObjects = Record<string, RecordedObject>;
