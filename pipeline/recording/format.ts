/**
 * The recording format (`deno task agent --record DIR`, `deno task replay DIR`):
 * everything the pipeline read during a live run, so replay runs the same code
 * on the same bytes without a kernel, deterministically.
 *
 * ```
 * DIR/meta.json     RecordingMeta
 * DIR/records.bin   raw ring buffer records, each framed as u32 length,
 *                   u32 0, the record, zero padding to 8 bytes
 * DIR/procs.json    per pid: facts, every maps text read (in order), and for
 *                   each opened mapping the object id or why it failed
 * DIR/objects/ID    the bytes of each object file read, once per identity
 * DIR/kallsyms      the kernel text symbols the recorded kernel stacks hit
 * ```
 *
 * @module
 */
import type { ProcFacts } from "../proc/process_info.ts";

/** Name in {@linkcode RecordingMeta.format}. */
export const RECORDING_FORMAT = "denoprof-recording";
/** Current version. */
export const RECORDING_VERSION = 1;

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
