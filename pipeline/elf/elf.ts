/**
 * ELF header, program header and section header parsing over any
 * {@linkcode ByteSource} (a file, a recording, `/proc/PID/mem`).
 *
 * Glossary:
 * - ELF header: the fixed record at offset 0 (class, endianness, machine,
 *   where the two header tables are).
 * - Program header (segment): what the loader maps; `PT_LOAD` segments give the
 *   link-time address (vaddr) of every file offset, which is how a runtime
 *   address is turned back into a vaddr ({@linkcode loadBias}).
 * - Section header: what the linker and tools see (`.text`, `.symtab`,
 *   `.eh_frame`, notes); stripped files may keep only a few.
 *
 * Everything read from the file is untrusted: every table is read with one
 * bounds-checked `source.read`, so a claimed count can never make us allocate
 * more than the source holds.
 *
 * @module
 */
import {
  BinaryFormatError,
  ByteReader,
  type ByteSource,
} from "../binary/mod.ts";
import { buildSymbolTable, type SymbolTable } from "./symbols.ts";
import { readNotes } from "./notes.ts";

/** `e_type` of a position-dependent executable. */
export const ET_EXEC = 2;
/** `e_type` of a shared object or PIE. */
export const ET_DYN = 3;
/** `p_type` of a loadable segment. */
export const PT_LOAD = 1;
/** `p_type` of a note segment. */
export const PT_NOTE = 4;
/** `p_type` of the `.eh_frame_hdr` segment. */
export const PT_GNU_EH_FRAME = 0x6474e550;
/** `p_flags` bit: executable. */
export const PF_X = 1;
/** `sh_type` of a section with no bytes in the file (`.bss`). */
export const SHT_NOBITS = 8;
/** `sh_type` of a note section. */
export const SHT_NOTE = 7;
/** `sh_flags` bit: the section holds instructions. */
export const SHF_EXECINSTR = 4;
/** `sh_flags` bit: the section is compressed (`Elf_Chdr` header first). */
export const SHF_COMPRESSED = 0x800;
/** `e_machine` of x86-64. */
export const EM_X86_64 = 62;
/** `e_machine` of AArch64. */
export const EM_AARCH64 = 183;

/** Upper bound on header table entries we accept, whatever the file claims. */
const MAX_TABLE_ENTRIES = 1 << 20;

/** One program header (segment). */
export interface ProgramHeader {
  /** `p_type` (`PT_LOAD` = 1, ...). */
  readonly type: number;
  /** `p_flags` (`PF_X` = 1, `PF_W` = 2, `PF_R` = 4). */
  readonly flags: number;
  /** File offset of the segment. */
  readonly offset: number;
  /** Link-time virtual address. */
  readonly vaddr: number;
  /** Bytes in the file. */
  readonly filesz: number;
  /** Bytes in memory (≥ filesz; the rest is zero-filled). */
  readonly memsz: number;
  /** Alignment. */
  readonly align: number;
}

/** One section header. */
export interface Section {
  /** Name from the section header string table (`""` if unnamed). */
  readonly name: string;
  /** `sh_type`. */
  readonly type: number;
  /** `sh_flags`. */
  readonly flags: number;
  /** Link-time address (0 for non-allocated sections). */
  readonly addr: number;
  /** File offset. */
  readonly offset: number;
  /** Size in bytes (in the file unless `SHT_NOBITS`). */
  readonly size: number;
  /** `sh_link` (e.g. the string table of a symbol table). */
  readonly link: number;
  /** `sh_info`. */
  readonly info: number;
  /** Entry size for tables. */
  readonly entsize: number;
  /** `sh_addralign`. */
  readonly addralign: number;
}

/** A parsed ELF file; tables are read eagerly, symbols lazily. */
export interface ElfFile {
  /** Where the bytes come from. */
  readonly source: ByteSource;
  /** ELFCLASS64. */
  readonly is64: boolean;
  /** ELFDATA2LSB. */
  readonly littleEndian: boolean;
  /** `e_machine` ({@linkcode EM_X86_64}, {@linkcode EM_AARCH64}). */
  readonly machine: number;
  /** `e_type` ({@linkcode ET_EXEC}, {@linkcode ET_DYN}). */
  readonly type: number;
  /** Entry point vaddr. */
  readonly entry: number;
  /** Program headers in file order. */
  readonly programHeaders: readonly ProgramHeader[];
  /** Section headers in file order (index 0 is the null section). */
  readonly sections: readonly Section[];
  /** First section with this name. */
  section(name: string): Section | undefined;
  /** Bytes of a section; `SHT_NOBITS` gives an empty array. Compressed sections are returned raw. */
  sectionBytes(s: Section): Uint8Array;
  /** GNU build id as lowercase hex. */
  gnuBuildId(): string | undefined;
  /** Go build id string (`.note.go.buildid`). */
  goBuildId(): string | undefined;
  /** `.gnu_debuglink` contents. */
  debugLink(): { file: string; crc: number } | undefined;
  /** Function symbols of `.symtab` and `.dynsym`, built on first call and cached. */
  symbols(): SymbolTable;
}

function fail(src: ByteSource, what: string, offset: number): never {
  throw new BinaryFormatError(`Cannot parse ELF file ${src.name}: ${what}`, {
    offset,
    section: "ELF header",
  });
}

/** Reads `n` bytes or turns any read failure into a BinaryFormatError. */
function readRange(src: ByteSource, offset: number, n: number, what: string) {
  if (
    !Number.isSafeInteger(offset) || !Number.isSafeInteger(n) || offset < 0 ||
    n < 0 || offset + n > src.size
  ) {
    fail(
      src,
      `${what} [${offset}, +${n}) lies outside the ${src.size} bytes`,
      offset,
    );
  }
  try {
    return src.read(offset, n);
  } catch (err) {
    if (err instanceof BinaryFormatError) throw err;
    throw new BinaryFormatError(
      `Cannot parse ELF file ${src.name}: reading ${what} failed`,
      { offset, section: "ELF header", cause: err },
    );
  }
}

/**
 * Parses the ELF header, program headers and section headers of `src`.
 * Symbols, notes and section contents are read on demand.
 *
 * @param src The bytes of an ELF image.
 * @returns The parsed file.
 * @throws {BinaryFormatError} when the header or a table is malformed.
 *
 * @example Parse the running Deno binary
 * ```ts ignore
 * import { parseElf } from "./mod.ts";
 * import { FileSource } from "../binary/mod.ts";
 * const elf = parseElf(new FileSource("/bin/true"));
 * console.log(elf.gnuBuildId(), elf.symbols().size);
 * ```
 */
export function parseElf(src: ByteSource): ElfFile {
  if (src.size < 52) fail(src, "too small for an ELF header", 0);
  const ident = readRange(src, 0, 16, "e_ident");
  if (
    ident[0] !== 0x7f || ident[1] !== 0x45 || ident[2] !== 0x4c ||
    ident[3] !== 0x46
  ) {
    fail(src, "bad magic", 0);
  }
  const cls = ident[4];
  if (cls !== 1 && cls !== 2) fail(src, `bad EI_CLASS ${cls}`, 4);
  const data = ident[5];
  if (data !== 1 && data !== 2) fail(src, `bad EI_DATA ${data}`, 5);
  const is64 = cls === 2;
  const littleEndian = data === 1;
  const ehsize = is64 ? 64 : 52;
  const r = new ByteReader(readRange(src, 0, ehsize, "ELF header"), {
    littleEndian,
    section: "ELF header",
  });
  r.pos = 16;
  const type = r.u16();
  const machine = r.u16();
  r.u32(); // e_version
  const entry = r.addr(is64 ? 8 : 4);
  const phoff = r.addr(is64 ? 8 : 4);
  const shoff = r.addr(is64 ? 8 : 4);
  r.u32(); // e_flags
  r.u16(); // e_ehsize
  const phentsize = r.u16();
  let phnum = r.u16();
  const shentsize = r.u16();
  let shnum = r.u16();
  let shstrndx = r.u16();

  const shMin = is64 ? 64 : 40;
  const phMin = is64 ? 56 : 32;
  // Section 0 carries the real counts when they overflow 16 bits.
  let sec0: Section | undefined;
  if (shoff !== 0) {
    if (shentsize < shMin) {
      fail(src, `section header size ${shentsize} too small`, 58);
    }
    sec0 = readSectionHeader(
      readRange(src, shoff, shentsize, "section header 0"),
      is64,
      littleEndian,
    );
    if (shnum === 0) shnum = sec0.size;
    if (shstrndx === 0xffff) shstrndx = sec0.link;
    if (phnum === 0xffff) phnum = sec0.info;
  } else {
    shnum = 0;
  }
  if (shnum > MAX_TABLE_ENTRIES || phnum > MAX_TABLE_ENTRIES) {
    fail(
      src,
      `too many header entries (${shnum} sections, ${phnum} segments)`,
      0,
    );
  }

  const programHeaders: ProgramHeader[] = [];
  if (phnum > 0) {
    if (phentsize < phMin) {
      fail(src, `program header size ${phentsize} too small`, 54);
    }
    const bytes = readRange(src, phoff, phnum * phentsize, "program headers");
    const pr = new ByteReader(bytes, {
      littleEndian,
      section: "program headers",
    });
    for (let i = 0; i < phnum; i++) {
      pr.pos = i * phentsize;
      programHeaders.push(readProgramHeader(pr, is64));
    }
  }

  const raw: Section[] = [];
  if (shnum > 0) {
    const bytes = readRange(src, shoff, shnum * shentsize, "section headers");
    for (let i = 0; i < shnum; i++) {
      raw.push(readSectionHeader(
        bytes.subarray(i * shentsize, i * shentsize + shMin),
        is64,
        littleEndian,
      ));
    }
  }
  let names: Uint8Array | undefined;
  if (shnum > 0 && shstrndx !== 0) {
    const strSec = raw[shstrndx];
    if (strSec === undefined) {
      fail(src, `e_shstrndx ${shstrndx} out of range`, 62);
    }
    if (strSec.type !== SHT_NOBITS) {
      names = readRange(src, strSec.offset, strSec.size, "section name table");
    }
  }
  const sections = raw.map((s) => ({ ...s, name: nameAt(names, s.name) }));
  return new ElfImage(src, {
    is64,
    littleEndian,
    machine,
    type,
    entry,
    programHeaders,
    sections,
  });
}

const latin = new TextDecoder("utf-8");

function nameAt(table: Uint8Array | undefined, raw: string): string {
  if (table === undefined) return "";
  const off = Number(raw);
  if (off >= table.length) return "";
  let end = table.indexOf(0, off);
  if (end < 0) end = table.length;
  return latin.decode(table.subarray(off, end));
}

function readProgramHeader(r: ByteReader, is64: boolean): ProgramHeader {
  if (is64) {
    const type = r.u32();
    const flags = r.u32();
    const offset = r.u64();
    const vaddr = r.u64();
    r.u64(); // p_paddr
    const filesz = r.u64();
    const memsz = r.u64();
    const align = r.u64();
    return { type, flags, offset, vaddr, filesz, memsz, align };
  }
  const type = r.u32();
  const offset = r.u32();
  const vaddr = r.u32();
  r.u32();
  const filesz = r.u32();
  const memsz = r.u32();
  const flags = r.u32();
  const align = r.u32();
  return { type, flags, offset, vaddr, filesz, memsz, align };
}

/** Reads a section header; `name` holds the raw name offset as a string until resolved. */
function readSectionHeader(
  bytes: Uint8Array,
  is64: boolean,
  littleEndian: boolean,
): Section {
  const r = new ByteReader(bytes, { littleEndian, section: "section headers" });
  const nameOff = r.u32();
  const type = r.u32();
  const w = is64 ? 8 : 4;
  const flags = r.addr(w);
  const addr = r.addr(w);
  const offset = r.addr(w);
  const size = r.addr(w);
  const link = r.u32();
  const info = r.u32();
  const addralign = r.addr(w);
  const entsize = r.addr(w);
  return {
    name: String(nameOff),
    type,
    flags,
    addr,
    offset,
    size,
    link,
    info,
    entsize,
    addralign,
  };
}

class ElfImage implements ElfFile {
  readonly source: ByteSource;
  readonly is64: boolean;
  readonly littleEndian: boolean;
  readonly machine: number;
  readonly type: number;
  readonly entry: number;
  readonly programHeaders: readonly ProgramHeader[];
  readonly sections: readonly Section[];
  #symbols: SymbolTable | undefined;
  #notes: Map<string, Uint8Array> | undefined;

  constructor(
    source: ByteSource,
    h: Omit<
      ElfFile,
      | "source"
      | "section"
      | "sectionBytes"
      | "gnuBuildId"
      | "goBuildId"
      | "debugLink"
      | "symbols"
    >,
  ) {
    this.source = source;
    this.is64 = h.is64;
    this.littleEndian = h.littleEndian;
    this.machine = h.machine;
    this.type = h.type;
    this.entry = h.entry;
    this.programHeaders = h.programHeaders;
    this.sections = h.sections;
  }

  section(name: string): Section | undefined {
    return this.sections.find((s) => s.name === name);
  }

  sectionBytes(s: Section): Uint8Array {
    if (s.type === SHT_NOBITS || s.size === 0) return new Uint8Array(0);
    return readRange(this.source, s.offset, s.size, `section ${s.name || "?"}`);
  }

  /** Notes keyed by `name/type`, first wins; sections first, then PT_NOTE segments. */
  #allNotes(): Map<string, Uint8Array> {
    if (this.#notes) return this.#notes;
    const out = new Map<string, Uint8Array>();
    const add = (bytes: Uint8Array, align: number) => {
      for (const n of readNotes(bytes, this.littleEndian, align)) {
        const key = `${n.name}/${n.type}`;
        if (!out.has(key)) out.set(key, n.desc);
      }
    };
    for (const s of this.sections) {
      if (s.type !== SHT_NOTE || s.size > 1 << 20) continue;
      try {
        add(this.sectionBytes(s), s.addralign);
      } catch (err) {
        if (!(err instanceof BinaryFormatError)) throw err;
      }
    }
    for (const p of this.programHeaders) {
      if (p.type !== PT_NOTE || p.filesz > 1 << 20) continue;
      try {
        add(readRange(this.source, p.offset, p.filesz, "PT_NOTE"), p.align);
      } catch (err) {
        if (!(err instanceof BinaryFormatError)) throw err;
      }
    }
    this.#notes = out;
    return out;
  }

  gnuBuildId(): string | undefined {
    const d = this.#allNotes().get("GNU/3"); // NT_GNU_BUILD_ID
    if (d === undefined || d.length === 0) return undefined;
    let s = "";
    for (const b of d) s += b.toString(16).padStart(2, "0");
    return s;
  }

  goBuildId(): string | undefined {
    const d = this.#allNotes().get("Go/4"); // NT_GO_BUILD_ID
    if (d === undefined) return undefined;
    let end = d.indexOf(0);
    if (end < 0) end = d.length;
    return latin.decode(d.subarray(0, end));
  }

  debugLink(): { file: string; crc: number } | undefined {
    const s = this.section(".gnu_debuglink");
    if (s === undefined) return undefined;
    const b = this.sectionBytes(s);
    const end = b.indexOf(0);
    if (end <= 0) return undefined;
    const crcOff = (end + 1 + 3) & ~3;
    if (crcOff + 4 > b.length) return undefined;
    const crc = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(
      crcOff,
      this.littleEndian,
    );
    return { file: latin.decode(b.subarray(0, end)), crc };
  }

  symbols(): SymbolTable {
    this.#symbols ??= buildSymbolTable(this);
    return this.#symbols;
  }
}
