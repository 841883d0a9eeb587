/**
 * pprof labels of a goroutine (`runtime/pprof.Do`, `SetGoroutineLabels`),
 * read from the target's memory through `/proc/PID/mem`.
 *
 * `g.labels` points to a `runtime/pprof.labelMap`, whose layout depends on
 * the Go version (checked against the runtime/pprof sources of each release):
 * - Go ≤ 1.23: `type labelMap map[string]string`; the pointer is to the map
 *   variable, i.e. to a pointer to a classic `hmap` (count @0, B @9,
 *   buckets @16, oldbuckets @24). A `map[string]string` bucket is
 *   `tophash [8]u8`, 8 keys, 8 values (16-byte strings), overflow pointer:
 *   272 bytes; a slot is live when its tophash is ≥ 5 (minTopHash).
 * - Go ≥ 1.24: `type labelMap struct { LabelSet }` with `LabelSet{ list
 *   []label }` (1.26: `label.Set{ List []label.Label }`), so the pointer is
 *   to a slice header `{ptr, len, cap}` of `{key, value string}` pairs
 *   (32 bytes each). No map (and so no swiss table) is involved.
 *
 * Every byte is untrusted: counts, lengths and bucket numbers are bounded.
 *
 * @module
 */
import { GoTransitionCounters } from "./cgo.ts";

/** Most labels read from one set. */
export const MAX_LABELS = 64;
/** Longest key or value read, bytes. */
export const MAX_LABEL_BYTES = 1024;
/** Largest hmap B accepted (2^B buckets). */
const MAX_B = 4;
const MAX_OVERFLOW = 16;
const BUCKET = 272;

/** Reads `len` bytes at `addr`, or `undefined` when not readable. */
export type MemoryReader = (
  addr: number,
  len: number,
) => Uint8Array | undefined;

const utf8 = new TextDecoder();

function u64(b: Uint8Array, off: number): number {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const hi = v.getUint32(off + 4, true);
  if (hi > 0x1fffff) return -1;
  return hi * 0x100000000 + v.getUint32(off, true);
}

function readString(
  mem: MemoryReader,
  hdr: Uint8Array,
  off: number,
): string | undefined {
  const ptr = u64(hdr, off), len = u64(hdr, off + 8);
  if (len < 0 || len > MAX_LABEL_BYTES || ptr < 0) return undefined;
  if (len === 0) return "";
  const b = mem(ptr, len);
  return b === undefined ? undefined : utf8.decode(b);
}

/**
 * Decodes the label set at `g.labels`.
 *
 * @param mem Reads the target's memory.
 * @param ptr The `g.labels` pointer (non-zero).
 * @param minor Go minor version of the binary.
 * @returns Key → value, or `undefined` when the bytes do not decode.
 *
 * @example A Go 1.24+ label slice in fake memory
 * ```ts
 * import { decodeGoLabels } from "./labels.ts";
 * const mem = new Map<number, Uint8Array>();
 * const w = (a: number, ...v: number[]) => {
 *   const b = new Uint8Array(v.length * 8);
 *   const d = new DataView(b.buffer);
 *   v.forEach((x, i) => d.setBigUint64(i * 8, BigInt(x), true));
 *   mem.set(a, b);
 * };
 * w(0x1000, 0x2000, 1, 1); // slice {ptr, len, cap}
 * w(0x2000, 0x3000, 1, 0x3001, 2); // {key, value}
 * mem.set(0x3000, new TextEncoder().encode("k"));
 * mem.set(0x3001, new TextEncoder().encode("vv"));
 * const read = (a: number, n: number) => mem.get(a)?.subarray(0, n);
 * console.assert(decodeGoLabels(read, 0x1000, 26)?.k === "vv");
 * ```
 */
export function decodeGoLabels(
  mem: MemoryReader,
  ptr: number,
  minor: number,
): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  if (minor >= 24) {
    const hdr = mem(ptr, 24);
    if (hdr === undefined) return undefined;
    const list = u64(hdr, 0), len = u64(hdr, 8);
    if (len < 0 || len > MAX_LABELS || list < 0) return undefined;
    if (len === 0) return out;
    const pairs = mem(list, len * 32);
    if (pairs === undefined) return undefined;
    for (let i = 0; i < len; i++) {
      const k = readString(mem, pairs, i * 32);
      const v = readString(mem, pairs, i * 32 + 16);
      if (k === undefined || v === undefined) return undefined;
      out[k] = v;
    }
    return out;
  }
  const mp = mem(ptr, 8);
  if (mp === undefined) return undefined;
  const h = u64(mp, 0);
  if (h <= 0) return h === 0 ? out : undefined;
  const hmap = mem(h, 48);
  if (hmap === undefined) return undefined;
  const count = u64(hmap, 0);
  const B = hmap[9]!;
  if (count < 0 || count > MAX_LABELS || B > MAX_B) return undefined;
  let n = 0;
  for (const base of [u64(hmap, 24), u64(hmap, 16)]) {
    if (base <= 0) continue; // oldbuckets first: unevacuated slots live there
    for (let i = 0; i < 1 << B; i++) {
      let bucket = base + i * BUCKET;
      for (let hop = 0; bucket > 0 && hop < MAX_OVERFLOW; hop++) {
        const b = mem(bucket, BUCKET);
        if (b === undefined) return undefined;
        for (let slot = 0; slot < 8; slot++) {
          if (b[slot]! < 5) continue; // empty or evacuated
          const k = readString(mem, b, 8 + slot * 16);
          const v = readString(mem, b, 136 + slot * 16);
          if (k === undefined || v === undefined) return undefined;
          if (!(k in out)) n++;
          out[k] = v;
          if (n > MAX_LABELS) return undefined;
        }
        bucket = u64(b, 264);
      }
    }
  }
  return out;
}

/** Reads label sets of live processes. */
export interface GoLabelReader {
  /**
   * The labels at `ptr` in process `pid`.
   *
   * @param pid Process id.
   * @param ptr `g.labels`.
   * @param minor Go minor version.
   * @returns The labels, or `undefined` when unreadable (counted).
   */
  read(
    pid: number,
    ptr: number,
    minor: number,
  ): Readonly<Record<string, string>> | undefined;
}

/** Options of {@linkcode ProcGoLabelReader}. */
export interface ProcGoLabelReaderOptions {
  /** Cached (pid, pointer) results; the cache is cleared when full (default 4096). */
  readonly maxCached?: number;
  /** Open `/proc/PID/mem` files kept (default 64). */
  readonly maxOpen?: number;
  /** Counts `labels.read`, `labels.cached`, `labels.failed`. */
  readonly counters?: GoTransitionCounters;
}

/**
 * {@linkcode GoLabelReader} over `/proc/PID/mem`, cached per (pid, labels
 * pointer): a label set is immutable once a goroutine points at it.
 *
 * @example Read a process's labels (needs ptrace access to it)
 * ```ts ignore
 * import { ProcGoLabelReader } from "./labels.ts";
 * using r = new ProcGoLabelReader();
 * console.log(r.read(pid, sample.go.labels, 26));
 * ```
 */
export class ProcGoLabelReader implements GoLabelReader, Disposable {
  #cache = new Map<string, Readonly<Record<string, string>> | null>();
  #files = new Map<number, Deno.FsFile>();
  #maxCached: number;
  #maxOpen: number;
  #counters: GoTransitionCounters;

  /** @param options Bounds and counters. */
  constructor(options: ProcGoLabelReaderOptions = {}) {
    this.#maxCached = options.maxCached ?? 4096;
    this.#maxOpen = options.maxOpen ?? 64;
    this.#counters = options.counters ?? new GoTransitionCounters();
  }

  /** {@inheritDoc GoLabelReader.read} */
  read(
    pid: number,
    ptr: number,
    minor: number,
  ): Readonly<Record<string, string>> | undefined {
    const key = `${pid}:${ptr}`;
    const hit = this.#cache.get(key);
    if (hit !== undefined) {
      this.#counters.add("labels.cached");
      return hit ?? undefined;
    }
    let labels: Record<string, string> | undefined;
    try {
      const file = this.#file(pid);
      labels = decodeGoLabels(
        (addr, len) => readAt(file, addr, len),
        ptr,
        minor,
      );
    } catch {
      this.#drop(pid);
      labels = undefined;
    }
    this.#counters.add(labels === undefined ? "labels.failed" : "labels.read");
    if (this.#cache.size >= this.#maxCached) this.#cache.clear();
    this.#cache.set(key, labels ?? null);
    return labels;
  }

  /**
   * Forgets a process (it exited or its pid was reused).
   *
   * @param pid Process id.
   */
  forget(pid: number): void {
    this.#drop(pid);
    const prefix = `${pid}:`;
    for (const k of this.#cache.keys()) {
      if (k.startsWith(prefix)) this.#cache.delete(k);
    }
  }

  /** Closes every open file. */
  close(): void {
    for (const pid of [...this.#files.keys()]) this.#drop(pid);
    this.#cache.clear();
  }

  /** Same as {@linkcode ProcGoLabelReader.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  #file(pid: number): Deno.FsFile {
    let f = this.#files.get(pid);
    if (f !== undefined) return f;
    if (this.#files.size >= this.#maxOpen) {
      this.#drop(this.#files.keys().next().value!);
    }
    f = Deno.openSync(`/proc/${pid}/mem`, { read: true });
    this.#files.set(pid, f);
    return f;
  }

  #drop(pid: number): void {
    const f = this.#files.get(pid);
    if (f === undefined) return;
    this.#files.delete(pid);
    try {
      f.close();
    } catch {
      // already closed
    }
  }
}

function readAt(
  file: Deno.FsFile,
  addr: number,
  len: number,
): Uint8Array | undefined {
  if (!Number.isSafeInteger(addr) || addr <= 0) return undefined;
  const out = new Uint8Array(len);
  file.seekSync(addr, Deno.SeekMode.Start);
  let done = 0;
  while (done < len) {
    const n = file.readSync(out.subarray(done));
    if (n === null || n === 0) return undefined;
    done += n;
  }
  return out;
}
