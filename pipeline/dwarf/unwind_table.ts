/**
 * The compiled unwind table of one ELF file.
 *
 * ## Table format
 *
 * One row per pc range, sorted by `pc`; a row applies from its `pc` up to the
 * next row's `pc`. All arrays have `length` entries (structure of arrays, so
 * the table can later be copied into BPF array maps as is):
 *
 * | array       | type         | meaning                                                     |
 * |-------------|--------------|-------------------------------------------------------------|
 * | `pc`        | Float64Array | first link-time address (vaddr) of the row                  |
 * | `cfaKind`   | Uint8Array   | {@linkcode CfaKind}: NONE (gap, no FDE), REG_OFFSET, DEREF, PLT, SIGNAL, UNSUPPORTED |
 * | `cfaReg`    | Uint8Array   | DWARF register of the CFA rule (PLT: the `(pc & 15)` threshold) |
 * | `cfaOffset` | Int32Array   | offset added to the register                                |
 * | `raKind`    | Uint8Array   | {@linkcode RegKind} of the return address (UNDEFINED = outermost frame) |
 * | `raOffset`  | Int32Array   | offset from the CFA (OFFSET), or a register number (REGISTER) |
 * | `fpKind`    | Uint8Array   | {@linkcode RegKind} of the frame pointer (rbp / x29)         |
 * | `fpOffset`  | Int32Array   | offset from the CFA (OFFSET) or from the callee's fp (AT_FP) |
 *
 * 24 bytes per row. Rules of other registers are dropped: samples carry only
 * pc, sp and fp (and lr on arm64), so no other register is known past the
 * innermost frame except after a signal frame, which restores all of them
 * from the kernel's `ucontext`.
 *
 * Rows are built from `.eh_frame` (located through `.eh_frame_hdr`'s segment
 * when section headers are missing) and `.debug_frame`; where both describe a
 * pc, `.eh_frame` wins. Consecutive rows with equal rules are merged; the end
 * of every FDE that is not followed directly by another one gets a NONE row.
 *
 * This full compile is the reference and the format for BPF maps; the agent
 * itself looks rules up lazily per FDE where the file allows it
 * (`openUnwindRules` in `lazy_unwind_table.ts`), with the same answers.
 *
 * @module
 */
import { BinaryFormatError, ByteReader } from "../binary/mod.ts";
import {
  type ElfFile,
  EM_AARCH64,
  PT_GNU_EH_FRAME,
  PT_LOAD,
} from "../elf/mod.ts";
import { parseCfiSection } from "./cfi.ts";
import { CfaKind, type CfiArch, type FdeRows } from "./cfi_rules.ts";
import { readEncodedPointer } from "./encoded_pointer.ts";
import { sectionData } from "./sections.ts";

/** Register numbering of the architecture the table was built for. */
export interface UnwindArch extends CfiArch {
  /** `x86_64` or `aarch64`. */
  readonly name: "x86_64" | "aarch64";
  /** DWARF column of the return address (rip = 16, x30 = 30). */
  readonly raReg: number;
}

/** amd64 DWARF numbering (System V psABI): rbp = 6, rsp = 7, rip = 16. */
export const X86_64: UnwindArch = {
  name: "x86_64",
  addressSize: 8,
  fpReg: 6,
  spReg: 7,
  raReg: 16,
};
/** arm64 DWARF numbering (AAPCS64): x29 = 29, x30 (lr) = 30, sp = 31. */
export const AARCH64: UnwindArch = {
  name: "aarch64",
  addressSize: 8,
  fpReg: 29,
  spReg: 31,
  raReg: 30,
};

/**
 * What the unwinder needs from a file's CFI: the row covering a link-time
 * address and that row's rules. {@linkcode UnwindTable} (the whole file
 * compiled, the format loadable into BPF maps) and
 * {@linkcode LazyUnwindTable} (one FDE compiled on demand) implement it.
 *
 * The index {@linkcode UnwindRules.find} returns is valid until the next
 * call of `find` on the same object (a lazy table copies the row into a
 * one-row scratch area).
 */
export interface UnwindRules {
  /** Architecture numbering of the registers. */
  readonly arch: UnwindArch;
  /** CFA rule kind per row. */
  readonly cfaKind: Uint8Array;
  /** CFA register per row. */
  readonly cfaReg: Uint8Array;
  /** CFA offset per row. */
  readonly cfaOffset: Int32Array;
  /** Return address rule kind per row. */
  readonly raKind: Uint8Array;
  /** Return address rule operand per row. */
  readonly raOffset: Int32Array;
  /** Frame pointer rule kind per row. */
  readonly fpKind: Uint8Array;
  /** Frame pointer rule operand per row. */
  readonly fpOffset: Int32Array;
  /**
   * Index of the row covering `vaddr`, or -1 when no FDE covers it.
   *
   * @param vaddr Link-time address.
   * @returns Row index (valid until the next call) or -1.
   */
  find(vaddr: number): number;
}

/** The compiled, sorted unwind rules of one file (see the module doc for the format). */
export class UnwindTable implements UnwindRules {
  /** Number of rows. */
  readonly length: number;
  /** Architecture numbering of the registers. */
  readonly arch: UnwindArch;
  /** Row start addresses (vaddr), ascending. */
  readonly pc: Float64Array;
  /** CFA rule kind per row. */
  readonly cfaKind: Uint8Array;
  /** CFA register per row. */
  readonly cfaReg: Uint8Array;
  /** CFA offset per row. */
  readonly cfaOffset: Int32Array;
  /** Return address rule kind per row. */
  readonly raKind: Uint8Array;
  /** Return address rule operand per row. */
  readonly raOffset: Int32Array;
  /** Frame pointer rule kind per row. */
  readonly fpKind: Uint8Array;
  /** Frame pointer rule operand per row. */
  readonly fpOffset: Int32Array;
  /** Number of FDEs compiled in. */
  readonly fdeCount: number;
  /** CIEs/FDEs skipped as malformed or unsupported. */
  readonly skipped: number;

  /**
   * @param arch Register numbering.
   * @param fdes FDE rows, any order; overlaps resolved in favour of the earlier one in the array.
   * @param skipped Count of skipped entries, kept for diagnostics.
   */
  constructor(arch: UnwindArch, fdes: readonly FdeRows[], skipped = 0) {
    this.arch = arch;
    const order = fdes.map((_, i) => i).sort((a, b) =>
      fdes[a]!.start - fdes[b]!.start || a - b
    );
    let rows = 0;
    for (const f of fdes) rows += f.rows.length + 1;
    const pc = new Float64Array(rows);
    const cfaKind = new Uint8Array(rows);
    const cfaReg = new Uint8Array(rows);
    const cfaOffset = new Int32Array(rows);
    const raKind = new Uint8Array(rows);
    const raOffset = new Int32Array(rows);
    const fpKind = new Uint8Array(rows);
    const fpOffset = new Int32Array(rows);
    let n = 0;
    let coveredTo = -1;
    let used = 0;
    for (const i of order) {
      const f = fdes[i]!;
      if (f.start < coveredTo || f.rows.length === 0) continue;
      used++;
      // Drop a NONE row that ends exactly where this FDE starts.
      if (n > 0 && pc[n - 1] === f.start && cfaKind[n - 1] === CfaKind.NONE) {
        n--;
      }
      for (const row of f.rows) {
        if (row.pc >= f.end) break;
        if (
          n > 0 && cfaKind[n - 1] === row.cfaKind &&
          cfaReg[n - 1] === row.cfaReg &&
          cfaOffset[n - 1] === row.cfaOffset && raKind[n - 1] === row.raKind &&
          raOffset[n - 1] === row.raOffset && fpKind[n - 1] === row.fpKind &&
          fpOffset[n - 1] === row.fpOffset
        ) continue;
        pc[n] = row.pc;
        cfaKind[n] = row.cfaKind;
        cfaReg[n] = row.cfaReg;
        cfaOffset[n] = row.cfaOffset;
        raKind[n] = row.raKind;
        raOffset[n] = clampI32(row.raOffset);
        fpKind[n] = row.fpKind;
        fpOffset[n] = clampI32(row.fpOffset);
        n++;
      }
      pc[n] = f.end;
      cfaKind[n] = CfaKind.NONE;
      cfaReg[n] =
        cfaOffset[n] =
        raKind[n] =
        raOffset[n] =
        fpKind[n] =
        fpOffset[n] =
          0;
      n++;
      coveredTo = f.end;
    }
    this.length = n;
    this.pc = pc.slice(0, n);
    this.cfaKind = cfaKind.slice(0, n);
    this.cfaReg = cfaReg.slice(0, n);
    this.cfaOffset = cfaOffset.slice(0, n);
    this.raKind = raKind.slice(0, n);
    this.raOffset = raOffset.slice(0, n);
    this.fpKind = fpKind.slice(0, n);
    this.fpOffset = fpOffset.slice(0, n);
    this.fdeCount = used;
    this.skipped = skipped;
  }

  /**
   * Index of the row covering `vaddr`, or -1 when no FDE covers it (before
   * the first row, or in a NONE gap).
   *
   * @param vaddr Link-time address.
   * @returns Row index or -1.
   */
  find(vaddr: number): number {
    const pc = this.pc;
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (pc[mid]! <= vaddr) lo = mid + 1;
      else hi = mid;
    }
    const i = lo - 1;
    if (i < 0 || this.cfaKind[i] === CfaKind.NONE) return -1;
    return i;
  }

  /** Bytes used by the typed arrays. */
  get byteLength(): number {
    return this.length * 24;
  }
}

function clampI32(v: number): number {
  return v > 0x7fffffff || v < -0x80000000 ? 0 : v;
}

/** The numbering for `elf`'s machine (amd64 unless it is arm64). */
export function archOf(elf: ElfFile): UnwindArch {
  if (elf.machine === EM_AARCH64) return AARCH64;
  return elf.is64 ? X86_64 : { ...X86_64, addressSize: 4 };
}

/**
 * Compiles the CFI of `elf` (`.eh_frame`, `.debug_frame`) into an
 * {@linkcode UnwindTable}. A pure function of the file's bytes: callers cache
 * it by file identity. Malformed entries are skipped and counted in
 * `skipped`; only a broken section header table can make it throw.
 *
 * @param elf The file (or its debug file, for `.debug_frame`).
 * @returns The table (possibly empty).
 * @throws {BinaryFormatError} only for unreadable section ranges of the source.
 *
 * @example
 * ```ts ignore
 * import { parseElf } from "../elf/mod.ts";
 * import { FileSource } from "../binary/mod.ts";
 * const table = buildUnwindTable(parseElf(new FileSource("/usr/lib/x86_64-linux-gnu/libc.so.6")));
 * console.log(table.length, table.find(0x98930));
 * ```
 */
export function buildUnwindTable(elf: ElfFile): UnwindTable {
  const arch = archOf(elf);
  const fdes: FdeRows[] = [];
  let skipped = 0;
  const text = elf.section(".text");
  const got = elf.section(".got");
  const le = elf.littleEndian;
  const tryParse = (bytes: Uint8Array, ehFrame: boolean, vaddr: number) => {
    try {
      const res = parseCfiSection(bytes, {
        ehFrame,
        vaddr,
        littleEndian: le,
        arch,
        textBase: text?.addr ?? 0,
        dataBase: got?.addr ?? 0,
      });
      for (const f of res.fdes) fdes.push(f);
      skipped += res.skipped;
    } catch (err) {
      if (!(err instanceof BinaryFormatError)) throw err;
      skipped++;
    }
  };
  const found = locateEhFrame(elf);
  if (found !== undefined) tryParse(found.bytes, true, found.vaddr);
  const df = elf.section(".debug_frame") ?? elf.section(".zdebug_frame");
  if (df !== undefined) {
    try {
      tryParse(sectionData(elf, df), false, 0);
    } catch (err) {
      if (!(err instanceof BinaryFormatError)) throw err;
      skipped++;
    }
  }
  return new UnwindTable(arch, fdes, skipped);
}

/**
 * The bytes and address of the `.eh_frame` that {@linkcode buildUnwindTable}
 * compiles: the section, else (no section headers) the data found through
 * `PT_GNU_EH_FRAME`.
 *
 * @param elf The file.
 * @returns The section's bytes and vaddr, or undefined when there is none.
 */
export function locateEhFrame(
  elf: ElfFile,
): { bytes: Uint8Array; vaddr: number } | undefined {
  const eh = elf.section(".eh_frame");
  if (eh !== undefined && eh.type !== 8) {
    return { bytes: elf.sectionBytes(eh), vaddr: eh.addr };
  }
  return ehFrameFromHeader(elf);
}

/**
 * Locates `.eh_frame` through the `PT_GNU_EH_FRAME` segment (for images
 * without section headers). Its size is unknown, so the rest of the
 * containing `PT_LOAD` segment is returned; the parser stops at the
 * terminator.
 */
function ehFrameFromHeader(
  elf: ElfFile,
): { bytes: Uint8Array; vaddr: number } | undefined {
  const hdr = elf.programHeaders.find((p) => p.type === PT_GNU_EH_FRAME);
  if (hdr === undefined || hdr.filesz < 8) return undefined;
  try {
    const bytes = elf.source.read(hdr.offset, Math.min(hdr.filesz, 16));
    const r = new ByteReader(bytes, {
      littleEndian: elf.littleEndian,
      section: ".eh_frame_hdr",
    });
    if (r.u8() !== 1) return undefined;
    const enc = r.u8();
    r.u8();
    r.u8();
    const ptr = readEncodedPointer(
      r,
      enc,
      { pc: hdr.vaddr, data: hdr.vaddr },
      elf.is64 ? 8 : 4,
    );
    const load = elf.programHeaders.find((p) =>
      p.type === PT_LOAD && p.vaddr <= ptr && ptr < p.vaddr + p.filesz
    );
    if (load === undefined) return undefined;
    const off = load.offset + (ptr - load.vaddr);
    const len = Math.min(
      load.offset + load.filesz - off,
      elf.source.size - off,
    );
    if (len <= 0) return undefined;
    return { bytes: elf.source.read(off, len), vaddr: ptr };
  } catch (err) {
    if (!(err instanceof BinaryFormatError)) throw err;
    return undefined;
  }
}
