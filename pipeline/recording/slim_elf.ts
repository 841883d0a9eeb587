/**
 * Shrinks a separate debug file to what native symbolization reads from it
 * (symbol tables, their string tables, notes, `.debug_line` and the string
 * sections it points into), so recordings stay small: libc's debug file is
 * 4 MiB, its symbol and line sections about a quarter of that.
 *
 * The result is a valid ELF file with the same section header table (same
 * indices, so symbols keep their `st_shndx`), no program headers, and every
 * dropped section turned into `SHT_NOBITS` (present in the table, no bytes).
 *
 * @module
 */
import type { ElfFile } from "../elf/mod.ts";

const SHT_SYMTAB = 2;
const SHT_STRTAB = 3;
const SHT_NOTE = 7;
const SHT_NOBITS = 8;
const SHT_DYNSYM = 11;

/** Section types kept whole: symbol tables, string tables, notes. */
const KEEP_TYPES = new Set([SHT_SYMTAB, SHT_STRTAB, SHT_NOTE, SHT_DYNSYM]);
/** Sections kept by name: the line program and its strings. */
const KEEP_NAMES = new Set([
  ".debug_line",
  ".zdebug_line",
  ".debug_line_str",
  ".debug_str",
  ".gnu_debuglink",
]);

/**
 * Whether {@linkcode slimDebugFile} keeps a section's bytes.
 *
 * @param name Section name.
 * @param type `sh_type`.
 * @returns True when the section's bytes are copied.
 */
export function keepsSection(name: string, type: number): boolean {
  return type !== SHT_NOBITS && (KEEP_TYPES.has(type) || KEEP_NAMES.has(name));
}

/**
 * Copies the symbolization-relevant sections of a debug file into a new,
 * smaller ELF image.
 *
 * @param elf The parsed debug file.
 * @returns The bytes of the slimmed file.
 * @throws {RangeError} when the file's headers cannot be re-read.
 *
 * @example
 * ```ts ignore
 * const small = slimDebugFile(parseElf(new FileSource(debugPath)));
 * parseElf(new BytesSource(small)).symbols(); // same function symbols
 * ```
 */
export function slimDebugFile(elf: ElfFile): Uint8Array {
  const src = elf.source;
  const is64 = elf.is64;
  const le = elf.littleEndian;
  const ehsize = is64 ? 64 : 52;
  const header = src.read(0, ehsize).slice();
  const hv = new DataView(header.buffer);
  const shoff = is64
    ? Number(hv.getBigUint64(0x28, le))
    : hv.getUint32(0x20, le);
  const shentsize = hv.getUint16(is64 ? 0x3a : 0x2e, le);
  const shnum = elf.sections.length;
  if (shnum === 0 || shentsize < (is64 ? 64 : 40)) {
    throw new RangeError(
      `Cannot slim ${src.name}: no usable section header table`,
    );
  }
  const table = src.read(shoff, shnum * shentsize).slice();
  const tv = new DataView(table.buffer);
  // Lay out: header, kept section bytes (8-aligned), section header table.
  const parts: { at: number; bytes: Uint8Array }[] = [];
  let pos = ehsize;
  for (let i = 1; i < shnum; i++) {
    const s = elf.sections[i]!;
    const o = i * shentsize;
    if (keepsSection(s.name, s.type) && s.size > 0) {
      pos = (pos + 7) & ~7;
      parts.push({ at: pos, bytes: elf.sectionBytes(s) });
      setOffset(tv, o, pos, is64, le);
      pos += s.size;
    } else {
      tv.setUint32(o + 4, SHT_NOBITS, le);
      setOffset(tv, o, 0, is64, le);
    }
  }
  pos = (pos + 7) & ~7;
  const newShoff = pos;
  const out = new Uint8Array(newShoff + table.length);
  // No program headers: the file is only read for symbols and lines.
  if (is64) {
    hv.setBigUint64(0x20, 0n, le); // e_phoff
    hv.setBigUint64(0x28, BigInt(newShoff), le); // e_shoff
    hv.setUint16(0x38, 0, le); // e_phnum
  } else {
    hv.setUint32(0x1c, 0, le);
    hv.setUint32(0x20, newShoff, le);
    hv.setUint16(0x2c, 0, le);
  }
  out.set(header, 0);
  for (const p of parts) out.set(p.bytes, p.at);
  out.set(table, newShoff);
  return out;
}

function setOffset(
  v: DataView,
  o: number,
  value: number,
  is64: boolean,
  le: boolean,
): void {
  if (is64) v.setBigUint64(o + 0x18, BigInt(value), le);
  else v.setUint32(o + 0x10, value, le);
}
