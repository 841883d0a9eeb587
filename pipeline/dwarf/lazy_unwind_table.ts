/**
 * Lazy CFI lookup: instead of compiling every FDE of a file up front
 * ({@linkcode buildUnwindTable}), a pc is looked up by binary search in
 * `.eh_frame_hdr`'s sorted table, and only the FDE found (with its CIE,
 * parsed once) is run into rows. Compiled FDEs are kept in a bounded LRU per
 * file.
 *
 * The answers are those of the full table, rule for rule. That holds when
 * every FDE belongs to exactly one pc range nobody else claims, which
 * {@linkcode openUnwindRules} checks once per file with a walk over the FDE
 * headers (no CFA program is run): the header table must list exactly the
 * usable FDEs of `.eh_frame`, sorted, without overlaps, and no `.debug_frame`
 * FDE may overlap an `.eh_frame` one. Anything else — no `.eh_frame_hdr`, a
 * table encoding other than datarel|sdata4, overlaps, a 32-bit file — gets
 * the full table. A pc that no `.eh_frame` FDE covers is looked up in the
 * full table of `.debug_frame` alone (it has no index), built on the first
 * such pc.
 *
 * @module
 */
import { BinaryFormatError, ByteReader } from "../binary/mod.ts";
import { type ElfFile, PT_GNU_EH_FRAME } from "../elf/mod.ts";
import {
  type CfiBases,
  type CfiSectionOptions,
  type Cie,
  fdeRange,
  parseCfiSection,
  readFde,
  walkCfiSection,
} from "./cfi.ts";
import { readEncodedPointer } from "./encoded_pointer.ts";
import { sectionData } from "./sections.ts";
import {
  archOf,
  buildUnwindTable,
  locateEhFrame,
  type UnwindArch,
  type UnwindRules,
  UnwindTable,
} from "./unwind_table.ts";

/** Default number of compiled FDEs kept per file. */
export const DEFAULT_FDE_CACHE = 4096;

/** `DW_EH_PE_datarel | DW_EH_PE_sdata4`: the only table encoding ld and lld write. */
const TABLE_DATAREL_SDATA4 = 0x3b;
/** `DW_EH_PE_pcrel | DW_EH_PE_sdata4`: the usual FDE pointer encoding. */
const PCREL_SDATA4 = 0x1b;

/** Options of {@linkcode openUnwindRules}. */
export interface UnwindRulesOptions {
  /** false: always compile the whole file (default true: lazy when possible). */
  lazy?: boolean;
  /** Compiled FDEs kept per file (default {@linkcode DEFAULT_FDE_CACHE}). */
  fdeCache?: number;
}

/**
 * The unwind rules of a file: a {@linkcode LazyUnwindTable} when its
 * `.eh_frame_hdr` makes lazy lookup exact, else the full
 * {@linkcode buildUnwindTable}. Same answers either way.
 *
 * @param elf The file.
 * @param options `lazy: false` forces the full table; `fdeCache` bounds the LRU.
 * @returns The rules.
 *
 * @example
 * ```ts ignore
 * import { parseElf } from "../elf/mod.ts";
 * import { FileSource } from "../binary/mod.ts";
 * const rules = openUnwindRules(parseElf(new FileSource("/usr/lib/x86_64-linux-gnu/libc.so.6")));
 * const row = rules.find(0x98930);
 * if (row >= 0) console.log(rules.cfaKind[row], rules.cfaOffset[row]);
 * ```
 */
export function openUnwindRules(
  elf: ElfFile,
  options: UnwindRulesOptions = {},
): UnwindRules {
  if (options.lazy !== false) {
    const lazy = LazyUnwindTable.open(elf, options.fdeCache);
    if (lazy !== undefined) return lazy;
  }
  return buildUnwindTable(elf);
}

/**
 * CFI looked up per pc through `.eh_frame_hdr`, one FDE compiled at a time
 * (see the module doc). Create it with {@linkcode LazyUnwindTable.open}.
 */
export class LazyUnwindTable implements UnwindRules {
  /** Architecture numbering of the registers. */
  readonly arch: UnwindArch;
  /** CFA rule kind of the last row found (index 0). */
  readonly cfaKind: Uint8Array = new Uint8Array(1);
  /** CFA register of the last row found. */
  readonly cfaReg: Uint8Array = new Uint8Array(1);
  /** CFA offset of the last row found. */
  readonly cfaOffset: Int32Array = new Int32Array(1);
  /** Return address rule kind of the last row found. */
  readonly raKind: Uint8Array = new Uint8Array(1);
  /** Return address operand of the last row found. */
  readonly raOffset: Int32Array = new Int32Array(1);
  /** Frame pointer rule kind of the last row found. */
  readonly fpKind: Uint8Array = new Uint8Array(1);
  /** Frame pointer operand of the last row found. */
  readonly fpOffset: Int32Array = new Int32Array(1);
  /** FDEs in `.eh_frame_hdr`'s table. */
  readonly fdeCount: number;

  #eh: Uint8Array;
  #le: boolean;
  #bases: CfiBases;
  #starts: Float64Array;
  #ends: Float64Array;
  /** Offset of each FDE's pc begin field in `.eh_frame`. */
  #pos: Int32Array;
  /** Offset one past each FDE record. */
  #recEnd: Int32Array;
  #cieOf: Int32Array;
  #cies: Cie[];
  #cache = new Map<number, UnwindTable | null>();
  #capacity: number;
  #lastIndex = -1;
  #lastTable: UnwindTable | null = null;
  #debug: (() => UnwindTable) | undefined;
  #debugTable: UnwindTable | undefined;
  #compiled = 0;

  private constructor(parts: LazyParts, capacity: number) {
    const index = parts.index;
    this.arch = parts.arch;
    this.#eh = parts.eh;
    this.#le = parts.le;
    this.#bases = parts.bases;
    this.#starts = index.starts;
    this.#ends = index.ends;
    this.#pos = index.pos;
    this.#recEnd = index.recEnd;
    this.#cieOf = index.cieOf;
    this.#cies = index.cies;
    this.fdeCount = index.starts.length;
    this.#debug = parts.debug;
    this.#capacity = Math.max(1, capacity);
  }

  /**
   * Opens the lazy view of `elf`, or returns undefined when lazy lookup
   * would not be exact (or possible): the caller then builds the full table.
   *
   * @param elf The file.
   * @param capacity Compiled FDEs kept (LRU).
   * @returns The lazy table or undefined.
   */
  static open(
    elf: ElfFile,
    capacity: number = DEFAULT_FDE_CACHE,
  ): LazyUnwindTable | undefined {
    let parts;
    try {
      parts = openLazy(elf);
    } catch (err) {
      if (!(err instanceof BinaryFormatError)) throw err;
      return undefined;
    }
    return parts === undefined
      ? undefined
      : new LazyUnwindTable(parts, capacity);
  }

  /** FDEs compiled so far (cache misses, including recompiles after eviction). */
  get compiledFdes(): number {
    return this.#compiled;
  }

  /** Whether the `.debug_frame` table has been built. */
  get debugFrameBuilt(): boolean {
    return this.#debugTable !== undefined;
  }

  /**
   * Index (always 0) of the row covering `vaddr`, copied into the one-row
   * arrays, or -1 when no FDE covers it. Valid until the next call.
   *
   * @param vaddr Link-time address.
   * @returns 0 or -1.
   */
  find(vaddr: number): number {
    const starts = this.#starts;
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid]! <= vaddr) lo = mid + 1;
      else hi = mid;
    }
    const i = lo - 1;
    if (i >= 0 && vaddr < this.#ends[i]!) {
      // Covered by this FDE alone (checked at open): its rows or nothing.
      const t = this.#fde(i);
      return t === null ? -1 : this.#copy(t, t.find(vaddr));
    }
    if (this.#debug === undefined) return -1;
    const d = this.#debugTable ??= this.#debug();
    return this.#copy(d, d.find(vaddr));
  }

  #copy(t: UnwindTable, row: number): number {
    if (row < 0) return -1;
    this.cfaKind[0] = t.cfaKind[row]!;
    this.cfaReg[0] = t.cfaReg[row]!;
    this.cfaOffset[0] = t.cfaOffset[row]!;
    this.raKind[0] = t.raKind[row]!;
    this.raOffset[0] = t.raOffset[row]!;
    this.fpKind[0] = t.fpKind[row]!;
    this.fpOffset[0] = t.fpOffset[row]!;
    return 0;
  }

  /** The compiled rows of FDE `i` (null when it is malformed), through the LRU. */
  #fde(i: number): UnwindTable | null {
    if (i === this.#lastIndex) return this.#lastTable;
    const cache = this.#cache;
    let t = cache.get(i);
    if (t !== undefined) {
      cache.delete(i);
    } else {
      t = this.#compile(i);
      if (cache.size >= this.#capacity) {
        cache.delete(cache.keys().next().value!);
      }
    }
    cache.set(i, t);
    this.#lastIndex = i;
    this.#lastTable = t;
    return t;
  }

  #compile(i: number): UnwindTable | null {
    this.#compiled++;
    try {
      const fde = readFde(
        this.#eh.subarray(0, this.#recEnd[i]!),
        this.#pos[i]!,
        this.#cies[this.#cieOf[i]!]!,
        this.arch,
        this.#bases,
        this.#le,
      );
      return fde === null ? null : new UnwindTable(this.arch, [fde]);
    } catch (err) {
      if (!(err instanceof BinaryFormatError)) throw err;
      return null; // the full build skips it too: a gap
    }
  }
}

/** The `.eh_frame_hdr` bytes and address (segment first, then section). */
function locateHeader(
  elf: ElfFile,
): { bytes: Uint8Array; vaddr: number } | undefined {
  const ph = elf.programHeaders.find((p) => p.type === PT_GNU_EH_FRAME);
  if (ph !== undefined && ph.filesz >= 12) {
    return { bytes: elf.source.read(ph.offset, ph.filesz), vaddr: ph.vaddr };
  }
  const s = elf.section(".eh_frame_hdr");
  if (s === undefined || s.type === 8 || s.size < 12) return undefined;
  return { bytes: elf.sectionBytes(s), vaddr: s.addr };
}

/** What a {@linkcode LazyUnwindTable} is made of. */
interface LazyParts {
  arch: UnwindArch;
  eh: Uint8Array;
  le: boolean;
  bases: CfiBases;
  index: FdeIndex;
  debug: (() => UnwindTable) | undefined;
}

/** The `.eh_frame_hdr` table, checked and completed with each FDE's end. */
interface FdeIndex {
  starts: Float64Array;
  ends: Float64Array;
  pos: Int32Array;
  recEnd: Int32Array;
  cieOf: Int32Array;
  cies: Cie[];
}

function openLazy(elf: ElfFile): LazyParts | undefined {
  if (!elf.is64) return undefined;
  const eh = locateEhFrame(elf);
  const hdr = locateHeader(elf);
  if (eh === undefined || hdr === undefined) return undefined;
  const le = elf.littleEndian;
  const arch = archOf(elf);
  const text = elf.section(".text");
  const got = elf.section(".got");
  const options: CfiSectionOptions = {
    ehFrame: true,
    vaddr: eh.vaddr,
    littleEndian: le,
    arch,
    textBase: text?.addr ?? 0,
    dataBase: got?.addr ?? 0,
  };
  const bases: CfiBases = {
    pc: eh.vaddr,
    text: options.textBase!,
    data: options.dataBase!,
  };

  // The header: version 1, a pointer to .eh_frame, the count, the table.
  const r = new ByteReader(hdr.bytes, {
    littleEndian: le,
    section: ".eh_frame_hdr",
  });
  if (r.u8() !== 1) return undefined;
  const ptrEnc = r.u8();
  const countEnc = r.u8();
  const tableEnc = r.u8();
  if (tableEnc !== TABLE_DATAREL_SDATA4 || countEnc === 0xff) return undefined;
  const hb = { pc: hdr.vaddr, data: hdr.vaddr };
  if (readEncodedPointer(r, ptrEnc, hb, 8) !== eh.vaddr) return undefined;
  const count = readEncodedPointer(r, countEnc, hb, 8);
  if (!Number.isSafeInteger(count) || count < 0) return undefined;
  if (r.remaining < count * 8) return undefined;
  const table = new DataView(
    hdr.bytes.buffer,
    hdr.bytes.byteOffset + r.pos,
    count * 8,
  );

  // Every usable FDE of .eh_frame, in file order (headers only).
  const cieIndex = new Map<Cie, number>();
  const cies: Cie[] = [];
  const rec: number[] = [];
  const recStart: number[] = [];
  const recEndA: number[] = [];
  const posA: number[] = [];
  const endA: number[] = [];
  const cieA: number[] = [];
  const ehView = new DataView(
    eh.bytes.buffer,
    eh.bytes.byteOffset,
    eh.bytes.byteLength,
  );
  walkCfiSection(eh.bytes, options, (cie, pos, end, record) => {
    if (cie === null) return;
    let start: number;
    let fdeEnd: number;
    if (cie.fdeEncoding === PCREL_SDATA4 && pos + 8 <= end) {
      // What fdeRange computes, without a reader per FDE (the usual encoding).
      start = ehView.getInt32(pos, le) + eh.vaddr + pos;
      const range = ehView.getInt32(pos + 4, le);
      if (range <= 0 || start === 0) return;
      fdeEnd = start + range;
    } else {
      const range = fdeRange(eh.bytes.subarray(0, end), pos, cie, bases, le);
      if (range === undefined) return;
      start = range.start;
      fdeEnd = range.end;
    }
    let ci = cieIndex.get(cie);
    if (ci === undefined) {
      ci = cies.length;
      cies.push(cie);
      cieIndex.set(cie, ci);
    }
    rec.push(record);
    recStart.push(start);
    endA.push(fdeEnd);
    recEndA.push(end);
    posA.push(pos);
    cieA.push(ci);
  });
  if (rec.length !== count) return undefined;

  // The table must list exactly those FDEs, sorted, without overlaps.
  const starts = new Float64Array(count);
  const ends = new Float64Array(count);
  const pos = new Int32Array(count);
  const recEnd = new Int32Array(count);
  const cieOf = new Int32Array(count);
  let prevEnd = -Infinity;
  for (let i = 0; i < count; i++) {
    const start = table.getInt32(i * 8, le) + hdr.vaddr;
    const off = table.getInt32(i * 8 + 4, le) + hdr.vaddr - eh.vaddr;
    const j = bsearch(rec, off);
    if (j < 0 || recStart[j] !== start || start < prevEnd) return undefined;
    starts[i] = start;
    ends[i] = prevEnd = endA[j]!;
    pos[i] = posA[j]!;
    recEnd[i] = recEndA[j]!;
    cieOf[i] = cieA[j]!;
  }

  // .debug_frame: its FDEs must not overlap .eh_frame's.
  let debug: (() => UnwindTable) | undefined;
  const df = elf.section(".debug_frame") ?? elf.section(".zdebug_frame");
  if (df !== undefined) {
    let bytes: Uint8Array | undefined;
    try {
      bytes = sectionData(elf, df);
    } catch (err) {
      if (!(err instanceof BinaryFormatError)) throw err;
    }
    if (bytes !== undefined) {
      const dopts: CfiSectionOptions = { ...options, ehFrame: false, vaddr: 0 };
      const dbases: CfiBases = { ...bases, pc: 0 };
      let overlap = false;
      walkCfiSection(bytes, dopts, (cie, p, end) => {
        if (cie === null || overlap) return;
        const range = fdeRange(bytes.subarray(0, end), p, cie, dbases, le);
        if (range === undefined) return;
        // The last .eh_frame FDE starting before the end of this one.
        let lo = 0;
        let hi = count;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (starts[mid]! < range.end) lo = mid + 1;
          else hi = mid;
        }
        if (lo > 0 && ends[lo - 1]! > range.start) overlap = true;
      });
      if (overlap) return undefined;
      const dbytes = bytes;
      debug = () => {
        let res;
        try {
          res = parseCfiSection(dbytes, dopts);
        } catch (err) {
          if (!(err instanceof BinaryFormatError)) throw err;
          return new UnwindTable(arch, []);
        }
        return new UnwindTable(arch, res.fdes, res.skipped);
      };
    }
  }
  return {
    arch,
    eh: eh.bytes,
    le,
    bases,
    index: { starts, ends, pos, recEnd, cieOf, cies },
    debug,
  };
}

/** Index of `v` in the ascending `a`, or -1. */
function bsearch(a: readonly number[], v: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const x = a[mid]!;
    if (x === v) return mid;
    if (x < v) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
