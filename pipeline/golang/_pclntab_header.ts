/**
 * gopclntab header and functab validation: the magic (refusing pre-1.18
 * formats with a clear message), quantum, pointer size, the sub-table
 * offsets, and the sorted `{entryOff, funcOff}` pairs of functab.
 *
 * @module
 */
import { BinaryFormatError } from "../binary/mod.ts";
import { PCLNTAB_MAGIC_118, PCLNTAB_MAGIC_120 } from "./pclntab_format.ts";

const OLD_MAGICS: Record<number, string> = {
  0xfffffffb: "Go 1.2–1.15",
  0xfffffffa: "Go 1.16–1.17",
};

/**
 * Throws the reader's {@linkcode BinaryFormatError}.
 *
 * @param what What is wrong.
 * @param offset Byte offset in the table, -1 when none applies.
 * @throws {BinaryFormatError} always.
 */
export function pclntabError(what: string, offset = -1): never {
  throw new BinaryFormatError(`Cannot read gopclntab: ${what}`, {
    offset,
    section: ".gopclntab",
  });
}

/** The pcHeader fields; sub-table offsets are relative to the header. */
export interface PclntabHeader {
  readonly magic: number;
  readonly quantum: number;
  readonly ptrSize: number;
  readonly nfunc: number;
  /** Text start stored in the header (0 from Go 1.26). */
  readonly hdrText: number;
  readonly funcnametab: number;
  readonly cutab: number;
  readonly filetab: number;
  readonly pctab: number;
  readonly pclntable: number;
}

/**
 * Validates and reads the header at the start of `bytes`.
 *
 * @throws {BinaryFormatError} on an unknown or old magic, a bad quantum or
 * pointer size, or sub-tables beyond the table.
 */
export function readPclntabHeader(
  bytes: Uint8Array,
  v: DataView,
): PclntabHeader {
  const bad = pclntabError;
  if (bytes.length < 8) bad("shorter than its header", 0);
  const magic = v.getUint32(0, true);
  if (magic !== PCLNTAB_MAGIC_120 && magic !== PCLNTAB_MAGIC_118) {
    const old = OLD_MAGICS[magic];
    if (old !== undefined) {
      bad(
        `magic 0x${
          magic.toString(16)
        } is the ${old} format, which denoprof does not support (Go 1.18 or later is needed)`,
        0,
      );
    }
    bad(`unknown magic 0x${magic.toString(16)}`, 0);
  }
  if (bytes[4] !== 0 || bytes[5] !== 0) bad("nonzero header padding", 4);
  const quantum = bytes[6]!;
  const ptrSize = bytes[7]!;
  if (quantum !== 1 && quantum !== 2 && quantum !== 4) {
    bad(`instruction quantum ${quantum}`, 6);
  }
  if (ptrSize !== 8 && ptrSize !== 4) {
    bad(`pointer size ${ptrSize}`, 7);
  }
  const ps = ptrSize;
  if (bytes.length < 8 + 8 * ps) bad("shorter than its header", 0);
  const word = (i: number) => {
    const o = 8 + i * ps;
    if (ps === 4) return v.getUint32(o, true);
    const lo = v.getUint32(o, true), hi = v.getUint32(o + 4, true);
    if (hi > 0x1fffff) bad(`header word ${i} out of range`, o);
    return hi * 0x100000000 + lo;
  };
  const h: PclntabHeader = {
    magic,
    quantum,
    ptrSize,
    nfunc: word(0),
    hdrText: word(2),
    funcnametab: word(3),
    cutab: word(4),
    filetab: word(5),
    pctab: word(6),
    pclntable: word(7),
  };
  for (const o of [h.funcnametab, h.cutab, h.filetab, h.pctab, h.pclntable]) {
    if (o > bytes.length) bad(`sub-table offset ${o} beyond the table`, 8);
  }
  return h;
}

/** functab as parallel arrays, and the size of the fixed `_func` part. */
export interface Functab {
  /** Function entries as offsets from the text start; `nfunc + 1` long. */
  readonly entryOffs: Uint32Array;
  /** `_func` offsets relative to pclntable; `nfunc` long. */
  readonly funcOffs: Uint32Array;
  /** Bytes of `_func` before its pcdata array (40 for 1.18, 44 for 1.20+). */
  readonly fixedSize: number;
}

/**
 * Reads functab: `nfunc + 1` entries of `{entryOff, funcOff}` u32.
 *
 * @throws {BinaryFormatError} when it does not fit, is not sorted, or points
 * a `_func` record beyond the table.
 */
export function readFunctab(
  bytes: Uint8Array,
  v: DataView,
  h: PclntabHeader,
): Functab {
  const n = h.nfunc;
  if (n <= 0 || h.pclntable + (n + 1) * 8 > bytes.length) {
    pclntabError(`functab of ${n} functions does not fit`, h.pclntable);
  }
  const fixedSize = h.magic === PCLNTAB_MAGIC_118 ? 40 : 44;
  const entryOffs = new Uint32Array(n + 1);
  const funcOffs = new Uint32Array(n);
  const limit = bytes.length - h.pclntable;
  let prev = 0;
  for (let i = 0; i <= n; i++) {
    const o = h.pclntable + i * 8;
    const e = v.getUint32(o, true);
    if (e < prev) pclntabError(`functab not sorted at function ${i}`, o);
    prev = e;
    entryOffs[i] = e;
    if (i < n) {
      const f = v.getUint32(o + 4, true);
      if (f + fixedSize > limit) {
        pclntabError(`function ${i} record at ${f} beyond the table`, o + 4);
      }
      funcOffs[i] = f;
    }
  }
  return { entryOffs, funcOffs, fixedSize };
}
