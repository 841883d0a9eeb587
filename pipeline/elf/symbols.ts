/**
 * Function symbol tables as parallel typed arrays: sorted start addresses,
 * ends, sizes and name offsets into the string tables. Names are decoded only
 * when looked up. `.symtab` and `.dynsym` are merged and deduplicated by start
 * address.
 *
 * @module
 */
import { BinaryFormatError } from "../binary/mod.ts";
import type { ElfFile, Section } from "./elf.ts";
import { SHF_EXECINSTR, SHT_NOBITS } from "./elf.ts";

/** A symbol found by address. */
export interface SymbolHit {
  /** Symbol name (mangled as in the file, without an `@VERSION` suffix). */
  readonly name: string;
  /** Start vaddr. */
  readonly start: number;
  /** `st_size` from the file (0 when unknown; then it extends to the next symbol). */
  readonly size: number;
}

/** Function symbols of one ELF file, sorted by address. */
export interface SymbolTable {
  /** Number of distinct symbols. */
  readonly size: number;
  /** The symbol containing `vaddr`, if any. */
  lookup(vaddr: number): SymbolHit | undefined;
  /** A symbol by exact name (first by address when several share it). */
  byName(name: string): { start: number; size: number } | undefined;
}

const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
const STT_NOTYPE = 0;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
const SHN_UNDEF = 0;
const SHN_LORESERVE = 0xff00;
/** How far back lookup walks to find an enclosing symbol over nested ones. */
const MAX_NESTED_WALK = 16;

const dec = new TextDecoder();

interface Candidate {
  start: number;
  size: number;
  end: number;
  nameOff: number;
  table: number;
  rank: number;
}

/**
 * Builds the symbol table of `elf`. Unreadable symbol sections are skipped
 * (a corrupt `.symtab` still leaves `.dynsym`).
 *
 * @param elf The file.
 * @returns The merged table.
 *
 * @example Count function symbols
 * ```ts ignore
 * import { parseElf } from "./mod.ts";
 * import { FileSource } from "../binary/mod.ts";
 * console.log(parseElf(new FileSource("/bin/true")).symbols().size);
 * ```
 */
export function buildSymbolTable(elf: ElfFile): SymbolTable {
  const strtabs: Uint8Array[] = [];
  const cands: Candidate[] = [];
  for (const sec of elf.sections) {
    if (sec.type !== SHT_SYMTAB && sec.type !== SHT_DYNSYM) continue;
    try {
      readSymbols(elf, sec, strtabs, cands);
    } catch (err) {
      if (!(err instanceof BinaryFormatError)) throw err;
    }
  }
  // Sort by start, then preferred first (sized, FUNC, global, .symtab).
  cands.sort((a, b) => a.start - b.start || a.rank - b.rank);
  const n0 = cands.length;
  const starts = new Float64Array(n0);
  const ends = new Float64Array(n0);
  const sizes = new Float64Array(n0);
  const nameOffs = new Uint32Array(n0);
  const tables = new Uint8Array(n0);
  let n = 0;
  const aliases: Candidate[] = [];
  for (const c of cands) {
    if (n > 0 && starts[n - 1] === c.start) {
      aliases.push(c); // still reachable by name
      continue;
    }
    starts[n] = c.start;
    sizes[n] = c.size;
    ends[n] = c.end;
    nameOffs[n] = c.nameOff;
    tables[n] = c.table;
    n++;
  }
  // A size-0 symbol covers up to the next symbol (or its section end).
  for (let i = 0; i < n; i++) {
    if (sizes[i] === 0 && i + 1 < n) {
      ends[i] = Math.min(ends[i]!, starts[i + 1]!);
    }
  }
  return new SortedSymbols(
    n,
    starts.subarray(0, n),
    ends.subarray(0, n),
    sizes.subarray(0, n),
    nameOffs.subarray(0, n),
    tables.subarray(0, n),
    strtabs,
    aliases,
  );
}

function readSymbols(
  elf: ElfFile,
  sec: Section,
  strtabs: Uint8Array[],
  out: Candidate[],
): void {
  const entsize = elf.is64 ? 24 : 16;
  if (sec.entsize !== 0 && sec.entsize < entsize) {
    throw new BinaryFormatError(
      `Cannot read symbols of ${sec.name}: entry size ${sec.entsize}`,
      {
        section: sec.name,
      },
    );
  }
  const step = sec.entsize || entsize;
  const strSec = elf.sections[sec.link];
  if (strSec === undefined) {
    throw new BinaryFormatError(
      `Cannot read symbols of ${sec.name}: bad sh_link ${sec.link}`,
      {
        section: sec.name,
      },
    );
  }
  const strtab = elf.sectionBytes(strSec);
  const bytes = elf.sectionBytes(sec);
  const table = strtabs.length;
  strtabs.push(strtab);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = elf.littleEndian;
  const count = Math.floor(bytes.length / step); // bounded by bytes actually read
  const isSymtab = sec.type === SHT_SYMTAB ? 0 : 1;
  for (let i = 1; i < count; i++) {
    const o = i * step;
    let nameOff: number,
      value: number,
      size: number,
      info: number,
      shndx: number;
    if (elf.is64) {
      nameOff = view.getUint32(o, le);
      info = view.getUint8(o + 4);
      shndx = view.getUint16(o + 6, le);
      value = u64(view, o + 8, le);
      size = u64(view, o + 16, le);
    } else {
      nameOff = view.getUint32(o, le);
      value = view.getUint32(o + 4, le);
      size = view.getUint32(o + 8, le);
      info = view.getUint8(o + 12);
      shndx = view.getUint16(o + 14, le);
    }
    const type = info & 0xf;
    const bind = info >> 4;
    if (shndx === SHN_UNDEF || !Number.isSafeInteger(value) || value === 0) {
      continue;
    }
    if (!Number.isSafeInteger(size)) continue;
    if (nameOff === 0 || nameOff >= strtab.length) continue;
    const home = shndx < SHN_LORESERVE ? elf.sections[shndx] : undefined;
    let ok = type === STT_FUNC || type === STT_GNU_IFUNC;
    if (!ok && type === STT_NOTYPE && size > 0 && home !== undefined) {
      ok = (home.flags & SHF_EXECINSTR) !== 0 && home.type !== SHT_NOBITS;
    }
    if (!ok) continue;
    let end = size > 0 ? value + size : Number.MAX_SAFE_INTEGER;
    if (size === 0 && home !== undefined && home.addr <= value) {
      end = home.addr + home.size;
      if (end <= value) end = value + 1;
    }
    // Rank: lower is preferred among symbols sharing a start.
    const rank = (size > 0 ? 0 : 8) + (type === STT_NOTYPE ? 4 : 0) +
      (bind === 1 ? 0 : 2) + isSymtab;
    out.push({ start: value, size, end, nameOff, table, rank });
  }
}

function u64(view: DataView, o: number, le: boolean): number {
  const lo = view.getUint32(o + (le ? 0 : 4), le);
  const hi = view.getUint32(o + (le ? 4 : 0), le);
  return hi > 0x1fffff ? Number.NaN : hi * 0x100000000 + lo;
}

class SortedSymbols implements SymbolTable {
  readonly size: number;
  #starts: Float64Array;
  #ends: Float64Array;
  #sizes: Float64Array;
  #nameOffs: Uint32Array;
  #tables: Uint8Array;
  #strtabs: Uint8Array[];
  #names: (string | undefined)[];
  #byName: Map<string, { start: number; size: number }> | undefined;
  #aliases: Candidate[];

  constructor(
    n: number,
    starts: Float64Array,
    ends: Float64Array,
    sizes: Float64Array,
    nameOffs: Uint32Array,
    tables: Uint8Array,
    strtabs: Uint8Array[],
    aliases: Candidate[],
  ) {
    this.size = n;
    this.#aliases = aliases;
    this.#starts = starts;
    this.#ends = ends;
    this.#sizes = sizes;
    this.#nameOffs = nameOffs;
    this.#tables = tables;
    this.#strtabs = strtabs;
    this.#names = new Array(n);
  }

  #decode(table: number, off: number): string {
    const tab = this.#strtabs[table]!;
    let end = tab.indexOf(0, off);
    if (end < 0) end = tab.length;
    let s = dec.decode(tab.subarray(off, end));
    // `.symtab` spells versioned definitions as `name@@VERSION`: keep the name.
    const at = s.indexOf("@");
    if (at > 0) s = s.slice(0, at);
    return s;
  }

  #name(i: number): string {
    let s = this.#names[i];
    if (s === undefined) {
      s = this.#decode(this.#tables[i]!, this.#nameOffs[i]!);
      this.#names[i] = s;
    }
    return s;
  }

  lookup(vaddr: number): SymbolHit | undefined {
    const starts = this.#starts;
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid]! <= vaddr) lo = mid + 1;
      else hi = mid;
    }
    const stop = Math.max(0, lo - MAX_NESTED_WALK);
    for (let i = lo - 1; i >= stop; i--) {
      if (vaddr < this.#ends[i]!) {
        return {
          name: this.#name(i),
          start: starts[i]!,
          size: this.#sizes[i]!,
        };
      }
    }
    return undefined;
  }

  byName(name: string): { start: number; size: number } | undefined {
    if (this.#byName === undefined) {
      const m = new Map<string, { start: number; size: number }>();
      for (let i = 0; i < this.size; i++) {
        const s = this.#name(i);
        if (!m.has(s)) {
          m.set(s, { start: this.#starts[i]!, size: this.#sizes[i]! });
        }
      }
      for (const a of this.#aliases) {
        const s = this.#decode(a.table, a.nameOff);
        if (!m.has(s)) m.set(s, { start: a.start, size: a.size });
      }
      this.#byName = m;
    }
    return this.#byName.get(name);
  }
}
