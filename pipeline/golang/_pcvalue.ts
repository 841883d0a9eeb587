/**
 * pc-value table decoding: zig-zag value deltas and pc deltas (× quantum) as
 * uvarints, starting at value −1 at the function entry. Bounded by a step
 * cap that grows with the function's size; corrupt tables yield -1.
 *
 * @module
 */

/** Floor of the cap on steps of one pc-value table decode (the cap grows with the function's size). */
export const MIN_PCVALUE_STEPS = 1024;

/** Cursor of {@linkcode uvarint} (module state: decoding never re-enters). */
let pos = 0;

/** Reads the uvarint at `pos`, advancing it; -1 when truncated or too long. */
function uvarint(b: Uint8Array): number {
  if (pos >= b.length) return -1;
  let c = b[pos++]!;
  let v = c & 0x7f;
  if (c & 0x80) {
    let mul = 128;
    do {
      if (pos >= b.length || mul > 0x10000000) return -1;
      c = b[pos++]!;
      v += (c & 0x7f) * mul;
      mul *= 128;
    } while (c & 0x80);
  }
  return v;
}

/**
 * Decodes the pc-value table at `start` of `b` up to `pc`.
 *
 * @param b The gopclntab.
 * @param start Offset of the table in `b`.
 * @param entry Entry address of the function (where the table starts).
 * @param quantum Instruction size quantum.
 * @param maxSteps Cap on (value, pc) pairs decoded.
 * @param pc Link-time address.
 * @returns The value, or -1 when the table is corrupt or ends before `pc`.
 */
export function decodePcValue(
  b: Uint8Array,
  start: number,
  entry: number,
  quantum: number,
  maxSteps: number,
  pc: number,
): number {
  pos = start;
  let val = -1;
  let cur = entry;
  for (let step = 0; step < maxSteps; step++) {
    const uv = uvarint(b); // value delta (zig-zag)
    if (uv < 0) return -1;
    if (uv === 0 && step > 0) return -1;
    val += (uv & 1) ? -((uv - 1) / 2) - 1 : uv / 2;
    const pd = uvarint(b); // pc delta
    if (pd < 0) return -1;
    cur += pd * quantum;
    if (pc < cur) return val;
  }
  return -1;
}
