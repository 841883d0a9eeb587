/**
 * CIE (common information entry) parsing: the defaults an FDE inherits —
 * alignment factors, the return address column, the augmentation (`z` = has
 * augmentation data, `R` = FDE pointer encoding, `P` = personality,
 * `L` = LSDA encoding, `S` = signal trampoline) and the initial instructions.
 *
 * @module
 */
import { ByteReader } from "../binary/mod.ts";
import { readEncodedPointer } from "./encoded_pointer.ts";
import { u64Lenient } from "./_lenient.ts";

/** Bases of the relative pointer encodings (see {@linkcode readEncodedPointer}). */
export interface CfiBases {
  pc: number;
  data: number;
  text: number;
}

/** A parsed CIE. */
export interface Cie {
  codeAlign: number;
  dataAlign: number;
  raReg: number;
  fdeEncoding: number;
  hasAugData: boolean;
  signal: boolean;
  addressSize: number;
  initial: Uint8Array;
}

/**
 * Reads the CIE at `off` (its length field) of a CFI section.
 *
 * @returns The CIE, or null when it is unsupported or inconsistent.
 * @throws {BinaryFormatError} on truncated input.
 */
export function readCie(
  bytes: Uint8Array,
  off: number,
  littleEndian: boolean,
  ehFrame: boolean,
  addressSize: number,
  bases: CfiBases,
): Cie | null {
  const r = new ByteReader(bytes, { littleEndian, pos: off, section: "CIE" });
  let length = r.u32();
  let is64 = false;
  if (length === 0xffffffff) {
    length = u64Lenient(r);
    is64 = true;
  }
  if (!Number.isSafeInteger(length) || length > r.remaining || length === 0) {
    return null;
  }
  const end = r.pos + length;
  const sub = new ByteReader(bytes.subarray(0, end), {
    littleEndian,
    pos: r.pos,
    section: "CIE",
  });
  const id = is64 && !ehFrame ? u64Lenient(sub) : sub.u32();
  if (ehFrame ? id !== 0 : !(id === 0xffffffff || Number.isNaN(id))) {
    return null;
  }
  const version = sub.u8();
  if (version !== 1 && version !== 3 && version !== 4) return null;
  const aug = sub.cstring();
  let addrSize = addressSize;
  if (version === 4) {
    addrSize = sub.u8();
    const segSize = sub.u8();
    if (segSize !== 0 || (addrSize !== 4 && addrSize !== 8)) return null;
  }
  if (aug.includes("eh")) sub.skip(addrSize); // ancient GCC eh_data pointer
  const codeAlign = sub.uleb();
  const dataAlign = sub.sleb();
  const raReg = version === 1 ? sub.u8() : sub.uleb();
  const cie: Cie = {
    codeAlign,
    dataAlign,
    raReg,
    fdeEncoding: 0,
    hasAugData: false,
    signal: false,
    addressSize: addrSize,
    initial: new Uint8Array(0),
  };
  if (aug.startsWith("z")) {
    cie.hasAugData = true;
    const augLen = sub.uleb();
    const augEnd = sub.pos + augLen;
    if (augEnd > end) return null;
    for (let i = 1; i < aug.length; i++) {
      const c = aug[i];
      if (c === "R") cie.fdeEncoding = sub.u8();
      else if (c === "L") sub.u8();
      else if (c === "P") {
        const enc = sub.u8();
        readEncodedPointer(sub, enc & 0x7f, bases, addrSize);
      } else if (c === "S") cie.signal = true;
      else if (c === "B" || c === "G") {
        // arm64 BTI / MTE markers: no data
      } else break; // unknown: the length lets us skip the rest
    }
    sub.pos = augEnd;
  } else if (aug !== "" && aug !== "eh") {
    return null; // unknown augmentation without size: cannot parse safely
  }
  if (codeAlign === 0) return null;
  cie.initial = bytes.subarray(sub.pos, end);
  return cie;
}
