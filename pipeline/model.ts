/**
 * The neutral profile model: what the pipeline produces and every exporter
 * consumes. It knows nothing of any wire format. Objects reachable from a
 * {@linkcode ProfileWindow} are interned by the aggregator: two samples that
 * share a frame share the same {@linkcode Location} object, so exporters can
 * deduplicate by identity (a `Map<Location, index>`) instead of by value.
 *
 * @module
 */

/** Where a frame's code lives. `error` marks an `[unwind: REASON]` frame. */
export type FrameKind = "native" | "kernel" | "go" | "error";

/** Build identifiers of a mapped file, as lowercase hex strings. */
export interface BuildIds {
  /** `.note.gnu.build-id` descriptor. */
  readonly gnu?: string;
  /** Go build id (`go tool buildid`), the string itself. */
  readonly go?: string;
  /** SHA-256 over first 4096 bytes, last 4096 bytes, big-endian u64 length; first 16 bytes. */
  readonly htlhash?: string;
}

/** A file mapped into a process (or the kernel image). */
export interface Mapping {
  /** First address of the mapping. */
  readonly start: bigint;
  /** One past the last address of the mapping. */
  readonly limit: bigint;
  /** File offset that `start` maps. */
  readonly fileOffset: bigint;
  /** Path of the file as the process sees it (`[kernel.kallsyms]`, `[vdso]`). */
  readonly path: string;
  /** Build identifiers, when the file has them. */
  readonly buildIds: BuildIds;
}

/** One function in a location; a location has several when calls were inlined. */
export interface Line {
  /** Function name as the source knows it (pclntab name, demangled C++/Rust, symbol). */
  readonly functionName: string;
  /** Raw symbol name when it differs (mangled), else absent. */
  readonly systemName?: string;
  /** Source file, when known. */
  readonly fileName?: string;
  /** Source line, when known (1-based). */
  readonly line?: number;
}

/** One frame address and what it means. */
export interface Location {
  /** Kind of code. */
  readonly kind: FrameKind;
  /** The pc of the frame (a return address for non-innermost frames). */
  readonly address: bigint;
  /** The mapped file, absent for error frames and unknown memory. */
  readonly mapping?: Mapping;
  /**
   * Functions at this address, innermost first and the physical caller last
   * (OTLP order). Empty when unsymbolized: folded then prints `object+0xOFFSET`.
   * For an error frame, one line whose name is `[unwind: REASON]`.
   */
  readonly lines: readonly Line[];
}

/** Attributes that split samples of the same stack. */
export interface SampleAttributes {
  /** Kernel thread id. */
  readonly threadId: number;
  /** Thread name (comm). */
  readonly threadName: string;
  /** CPU the sample ran on. */
  readonly cpu: number;
  /** Go goroutine id, for samples in Go code. */
  readonly goroutineId?: number;
  /** pprof labels of the goroutine. */
  readonly goLabels?: Readonly<Record<string, string>>;
}

/** All samples of one stack with one attribute set within a window. */
export interface SampleGroup {
  /** Frames, leaf first. */
  readonly stack: readonly Location[];
  /** The attributes every sample in the group shares. */
  readonly attributes: SampleAttributes;
  /** Number of samples (equals `timestampsUnixNano.length`). */
  readonly count: number;
  /** Wall-clock time of each sample, Unix nanoseconds. */
  readonly timestampsUnixNano: readonly bigint[];
}

/** Facts about a profiled process. */
export interface ProcessInfo {
  /** Process id (tgid) as the host sees it. */
  readonly pid: number;
  /** Process name (the main thread's comm, or the executable's base name). */
  readonly name: string;
  /** Path of the executable, when readable. */
  readonly executablePath?: string;
  /** Command line joined by spaces, when readable. */
  readonly commandLine?: string;
  /** Container id from the cgroup path, when there is one. */
  readonly containerId?: string;
  /** Build ids of the main executable. */
  readonly buildIds?: BuildIds;
}

/** The samples of one process in one window. */
export interface ProcessProfile {
  /** The process. */
  readonly process: ProcessInfo;
  /** Sample groups, in first-seen order. */
  readonly samples: readonly SampleGroup[];
}

/** Everything sampled during one reporting interval. */
export interface ProfileWindow {
  /** Window start, Unix nanoseconds. */
  readonly startUnixNano: bigint;
  /** Window length in nanoseconds. */
  readonly durationNano: bigint;
  /** Sampling frequency in Hz (the period is 1e9 / frequency ns of CPU). */
  readonly frequency: number;
  /** One entry per process that had samples. */
  readonly processes: readonly ProcessProfile[];
}
