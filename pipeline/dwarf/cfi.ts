/**
 * Call frame information (CFI) parsing: walks `.eh_frame` and `.debug_frame`
 * sections, pairs each FDE with its CIE, and runs their CFA programs into
 * rows of the three rules an unwinder needs (CFA, return address, frame
 * pointer).
 *
 * Glossary:
 * - CFA (canonical frame address): the value of the stack pointer in the
 *   caller just before the call instruction. Every saved register is found
 *   at an offset from it.
 * - CIE (common information entry): shared defaults of many FDEs: alignment
 *   factors, the return address column, the augmentation (`z` = has
 *   augmentation data, `R` = FDE pointer encoding, `P` = personality,
 *   `L` = LSDA encoding, `S` = signal trampoline) and initial instructions.
 * - FDE (frame description entry): a pc range and the instructions that
 *   change the rules as the pc advances through it.
 * - Row: the rules valid from one pc up to the next row's pc.
 *
 * All input is untrusted: every loop consumes bytes, the remember-state stack
 * is capped, and a malformed FDE is skipped (and counted) rather than failing
 * the whole file.
 *
 * The pieces live beside this file: the rule vocabulary in `cfi_rules.ts`,
 * pointer encodings in `encoded_pointer.ts`, CIE parsing in `_cie.ts` and the
 * CFA program interpreter in `_cfa_program.ts`.
 *
 * @module
 */
import { BinaryFormatError, ByteReader } from "../binary/mod.ts";
import {
  CfaKind,
  type CfiArch,
  type CfiParseResult,
  type CfiRow,
  type FdeRows,
  RegKind,
  type RuleState,
} from "./cfi_rules.ts";
import { readEncodedPointer } from "./encoded_pointer.ts";
import { type CfiBases, type Cie, readCie } from "./_cie.ts";
import { CfaProgram } from "./_cfa_program.ts";
import { u64Lenient } from "./_lenient.ts";

export type { CfiBases, Cie } from "./_cie.ts";

/**
 * Parses a whole `.eh_frame` or `.debug_frame` section into FDE rows.
 *
 * @param bytes Section contents.
 * @param options `ehFrame` selects the `.eh_frame` dialect; `vaddr` is the
 *   section's address (pcrel base); `littleEndian`, `arch`.
 * @returns FDE rows and the number of skipped entries.
 *
 * @example An empty section has no FDEs
 * ```ts
 * import { parseCfiSection } from "./cfi.ts";
 * const res = parseCfiSection(new Uint8Array(4), {
 *   ehFrame: true, vaddr: 0, littleEndian: true,
 *   arch: { addressSize: 8, fpReg: 6, spReg: 7 },
 * });
 * console.assert(res.fdes.length === 0);
 * ```
 */
export function parseCfiSection(
  bytes: Uint8Array,
  options: CfiSectionOptions,
): CfiParseResult {
  const { arch } = options;
  const fdes: FdeRows[] = [];
  const bases = cfiBases(options);
  let skipped = 0;
  const badCies = walkCfiSection(bytes, options, (cie, pos, end) => {
    if (cie === null) {
      skipped++;
      return;
    }
    try {
      const fde = readFde(
        bytes.subarray(0, end),
        pos,
        cie,
        arch,
        bases,
        options.littleEndian,
      );
      if (fde !== null) fdes.push(fde);
      else skipped++;
    } catch (err) {
      if (!(err instanceof BinaryFormatError)) throw err;
      skipped++;
    }
  });
  return { fdes, skipped: skipped + badCies };
}

/** Where a CFI section lives and how to read it (see {@linkcode parseCfiSection}). */
export interface CfiSectionOptions {
  /** `.eh_frame` dialect (true) or `.debug_frame` (false). */
  ehFrame: boolean;
  /** Address of the section's first byte (pcrel base). */
  vaddr: number;
  /** Byte order of the file. */
  littleEndian: boolean;
  /** Register numbering. */
  arch: CfiArch;
  /** textrel base (`.text` address). */
  textBase?: number;
  /** datarel base (`.got` address). */
  dataBase?: number;
}

/** The pointer bases of a section. */
export function cfiBases(options: CfiSectionOptions): CfiBases {
  return {
    pc: options.vaddr,
    text: options.textBase ?? 0,
    data: options.dataBase ?? 0,
  };
}

/**
 * Walks the records of a CFI section in file order and calls `onFde` for
 * every FDE with its CIE (null when the CIE is unusable), the offset of its
 * pc begin field, the offset one past the record and the offset of the
 * record (its length field). CIEs are parsed once
 * each (`cies` may be shared between walks of the same section).
 *
 * @returns The number of unusable CIEs.
 */
export function walkCfiSection(
  bytes: Uint8Array,
  options: CfiSectionOptions,
  onFde: (cie: Cie | null, pos: number, end: number, record: number) => void,
  cies: Map<number, Cie | null> = new Map(),
): number {
  const { ehFrame, arch } = options;
  const section = ehFrame ? ".eh_frame" : ".debug_frame";
  const r = new ByteReader(bytes, {
    littleEndian: options.littleEndian,
    section,
  });
  let skipped = 0;
  const bases = cfiBases(options);
  const parseCie = (off: number): Cie | null => {
    if (cies.has(off)) return cies.get(off)!;
    const cie = cieAt(bytes, off, options, arch, bases);
    if (cie === null) skipped++;
    cies.set(off, cie);
    return cie;
  };

  // Each iteration consumes at least 4 bytes, so the walk is bounded.
  while (r.remaining >= 4) {
    const start = r.pos;
    let length = r.u32();
    if (length === 0) {
      if (ehFrame) break; // terminator
      continue;
    }
    let is64 = false;
    if (length === 0xffffffff) {
      if (r.remaining < 8) break;
      length = u64Lenient(r);
      is64 = true;
    }
    if (!Number.isSafeInteger(length) || length > r.remaining) break;
    const bodyStart = r.pos;
    const end = bodyStart + length;
    const idPos = r.pos;
    const idSize = is64 && !ehFrame ? 8 : 4;
    if (length < idSize) break;
    const id = idSize === 8 ? u64Lenient(r) : r.u32();
    const isCie = ehFrame
      ? id === 0
      : (idSize === 8 ? Number.isNaN(id) : id === 0xffffffff);
    if (isCie) {
      parseCie(start);
    } else {
      const cieOff = ehFrame ? idPos - id : id;
      const cie =
        Number.isSafeInteger(cieOff) && cieOff >= 0 && cieOff < bytes.length
          ? parseCie(cieOff)
          : null;
      onFde(cie, r.pos, end, start);
    }
    r.pos = end;
  }
  return skipped;
}

/** The CIE at `off`, or null when it is unusable (malformed or unsupported). */
export function cieAt(
  bytes: Uint8Array,
  off: number,
  options: CfiSectionOptions,
  arch: CfiArch,
  bases: CfiBases,
): Cie | null {
  try {
    return readCie(
      bytes,
      off,
      options.littleEndian,
      options.ehFrame,
      arch.addressSize,
      bases,
    );
  } catch (err) {
    if (!(err instanceof BinaryFormatError)) throw err;
    return null;
  }
}

/**
 * The pc range `[start, end)` of the FDE whose pc begin field is at `pos`
 * (`bytes` ends with the record), or undefined when {@linkcode readFde}
 * would discard it or cannot read it.
 */
export function fdeRange(
  bytes: Uint8Array,
  pos: number,
  cie: Cie,
  bases: CfiBases,
  littleEndian: boolean,
): { start: number; end: number } | undefined {
  try {
    const r = new ByteReader(bytes, { littleEndian, pos, section: "FDE" });
    const start = readEncodedPointer(
      r,
      cie.fdeEncoding,
      bases,
      cie.addressSize,
    );
    const range = readEncodedPointer(
      r,
      cie.fdeEncoding & 0x0f,
      bases,
      cie.addressSize,
    );
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(range)) {
      return undefined;
    }
    if (range <= 0 || start === 0) return undefined;
    return { start, end: start + range };
  } catch (err) {
    if (!(err instanceof BinaryFormatError)) throw err;
    return undefined;
  }
}

/**
 * Reads the FDE whose pc begin field is at `pos` and runs its CIE's initial
 * program and its own program into rows.
 *
 * @param bytes The section up to the end of the FDE record.
 * @param pos Offset of the FDE's pc begin field.
 * @param cie Its CIE.
 * @param arch Register numbering.
 * @param bases Pointer bases of the section.
 * @param littleEndian Byte order.
 * @returns The rows, or null for a discarded FDE (zero start or empty range).
 * @throws {BinaryFormatError} on truncated input or a bad CFA program.
 */
export function readFde(
  bytes: Uint8Array,
  pos: number,
  cie: Cie,
  arch: CfiArch,
  bases: CfiBases,
  littleEndian: boolean,
): FdeRows | null {
  const r = new ByteReader(bytes, { littleEndian, pos, section: "FDE" });
  const start = readEncodedPointer(r, cie.fdeEncoding, bases, cie.addressSize);
  const range = readEncodedPointer(
    r,
    cie.fdeEncoding & 0x0f,
    bases,
    cie.addressSize,
  );
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(range)) return null;
  if (range <= 0 || start === 0) return null; // discarded (e.g. by --gc-sections)
  if (cie.hasAugData) r.skip(r.uleb());
  const end = start + range;
  const init: RuleState = {
    cfaKind: CfaKind.UNSUPPORTED,
    cfaReg: 0,
    cfaOffset: 0,
    raKind: RegKind.SAME,
    raOffset: 0,
    fpKind: RegKind.SAME,
    fpOffset: 0,
  };
  const ctx = new CfaProgram(cie, arch, bases, littleEndian);
  ctx.run(cie.initial, init, start, end, null);
  const initial = { ...init };
  const rows: CfiRow[] = [];
  ctx.run(bytes.subarray(r.pos), init, start, end, { rows, initial });
  if (cie.signal) {
    for (const row of rows) row.cfaKind = CfaKind.SIGNAL;
  }
  return { start, end, rows };
}
