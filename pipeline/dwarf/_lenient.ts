/**
 * 64-bit reads that yield NaN instead of throwing when the value does not fit
 * a safe integer (CFI lengths, ids and pointers).
 *
 * @module
 */
import type { ByteReader } from "../binary/mod.ts";

/** Reads an unsigned 64-bit value in the reader's byte order; NaN above 2^53. */
export function u64Lenient(r: ByteReader): number {
  const a = r.u32();
  const b = r.u32();
  const [lo, hi] = r.littleEndian ? [a, b] : [b, a];
  return hi > 0x1fffff ? Number.NaN : hi * 0x100000000 + lo;
}

/** Reads a signed 64-bit value in the reader's byte order; NaN beyond ±2^53. */
export function i64Lenient(r: ByteReader): number {
  const a = r.u32();
  const b = r.u32();
  const [lo, hi] = r.littleEndian ? [a, b] : [b, a];
  const shi = hi | 0;
  const v = shi * 0x100000000 + lo;
  return Number.isSafeInteger(v) ? v : Number.NaN;
}
