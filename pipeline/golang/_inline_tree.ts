/**
 * Inline tree entries: FUNCDATA 3 of a function is an array of inlined calls
 * (indexed by PCDATA 2) in `go:func.*`; each names the inlined function and
 * the pc, relative to the function entry, of the call in its parent.
 *
 * @module
 */
import { PCLNTAB_MAGIC_118 } from "./pclntab_format.ts";

/**
 * Reads inlined call `ix` of the tree at `tree`.
 *
 * @param gofunc Funcdata base and the bytes there.
 * @param magic Table magic (the entry is 20 bytes in 1.18, 16 from 1.20).
 * @param tree Link-time address of the tree.
 * @param ix Index from PCDATA 2.
 * @returns `[nameOff, parentPc]`, or undefined when out of bounds.
 */
export function readInlinedCall(
  gofunc: { vaddr: number; bytes: Uint8Array } | undefined,
  magic: number,
  tree: number,
  ix: number,
): [number, number] | undefined {
  const g = gofunc;
  if (g === undefined || ix < 0) return undefined;
  const size = magic === PCLNTAB_MAGIC_118 ? 20 : 16;
  const at = tree - g.vaddr + ix * size;
  if (at < 0 || at + size > g.bytes.length) return undefined;
  const v = new DataView(g.bytes.buffer, g.bytes.byteOffset, g.bytes.length);
  if (size === 20) {
    return [v.getInt32(at + 12, true), v.getInt32(at + 16, true)];
  }
  return [v.getInt32(at + 4, true), v.getInt32(at + 8, true)];
}
