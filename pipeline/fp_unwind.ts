/**
 * Frame-pointer unwinding over a copied stack: the baseline every profiler
 * starts with (`perf --call-graph fp`, bpftrace). It is exact only for code
 * built with frame pointers; the CFI unwinder in pipeline/unwind replaces it
 * and falls back to it where no CFI covers a pc. Kept on its own so
 * `--unwind fp` can show what frame pointers alone would give.
 *
 * @module
 */

/** A copied run of stack memory. */
export interface StackCopy {
  /** User address of `bytes[0]`. */
  readonly base: number;
  /** The copied bytes. */
  readonly bytes: Uint8Array;
}

/** Result of walking one stack. */
export interface WalkResult {
  /** Pcs innermost first; all but the first are return addresses. */
  readonly pcs: number[];
  /** Why the walk stopped early, or `undefined` when it reached the root. */
  readonly error: string | undefined;
}

/** Most frames walked before giving up. */
export const MAX_FRAMES = 256;

/**
 * Reads a little-endian u64 from a stack copy as a number.
 *
 * @param copy The copy.
 * @param address User address to read.
 * @returns The value, or `undefined` outside the copy or above 2^53.
 */
export function readStackWord(
  copy: StackCopy,
  address: number,
): number | undefined {
  const off = address - copy.base;
  if (off < 0 || off + 8 > copy.bytes.length) return undefined;
  const b = copy.bytes;
  const lo = (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) |
    (b[off + 3]! << 24)) >>> 0;
  const hi = (b[off + 4]! | (b[off + 5]! << 8) | (b[off + 6]! << 16) |
    (b[off + 7]! << 24)) >>> 0;
  if (hi > 0x1fffff) return undefined;
  return hi * 0x100000000 + lo;
}

/**
 * Walks the amd64 frame-pointer chain: `[fp]` is the caller's fp and
 * `[fp + 8]` the return address. Stops at fp 0 or a return address of 0 (the
 * root), at a frame pointer that does not move up the stack (corrupt or
 * omitted frame pointers), and at the end of the copy.
 *
 * @param pc Interrupted pc.
 * @param fp Interrupted frame pointer (rbp).
 * @param copy The stack copy from sp upward.
 * @returns The pcs and the reason the walk stopped early.
 *
 * @example
 * ```ts
 * import { walkFramePointers } from "./fp_unwind.ts";
 * const bytes = new Uint8Array(32);
 * const v = new DataView(bytes.buffer);
 * v.setBigUint64(0, 0x1010n, true); // fp chain: frame at 0x1000 → 0x1010
 * v.setBigUint64(8, 0x400123n, true); // return address
 * v.setBigUint64(16, 0n, true); // outermost frame: fp 0
 * v.setBigUint64(24, 0n, true);
 * const r = walkFramePointers(0x400000, 0x1000, { base: 0x1000, bytes });
 * console.assert(r.pcs.length === 2 && r.error === undefined);
 * ```
 */
export function walkFramePointers(
  pc: number,
  fp: number,
  copy: StackCopy,
): WalkResult {
  const pcs = [pc];
  let error: string | undefined;
  while (true) {
    if (fp === 0) break;
    if (pcs.length >= MAX_FRAMES) {
      error = "too many frames";
      break;
    }
    const next = readStackWord(copy, fp);
    const ra = readStackWord(copy, fp + 8);
    if (next === undefined || ra === undefined) {
      error = fp < copy.base
        ? "frame pointer outside stack"
        : "stack copy truncated";
      break;
    }
    if (ra === 0) break;
    pcs.push(ra);
    if (next !== 0 && next <= fp) {
      error = "frame pointer chain broken";
      break;
    }
    fp = next;
  }
  return { pcs, error };
}
