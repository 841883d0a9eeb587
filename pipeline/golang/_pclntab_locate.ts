/**
 * Finding gopclntab and the funcdata bytes in an ELF file: by section, by
 * symbol, or by a bounded scan of read-only segments for the header magic.
 *
 * @module
 */
import { type ElfFile, PT_LOAD } from "../elf/mod.ts";
import { findSymbols, readAtVaddr } from "./_elf_util.ts";
import { PCLNTAB_SCAN_LIMIT } from "./pclntab_format.ts";

/** Finds the pclntab bytes and address: section, symbol, or magic scan. */
export function locatePclntab(
  elf: ElfFile,
): { bytes: Uint8Array; vaddr: number } | undefined {
  for (const name of [".gopclntab", ".data.rel.ro.gopclntab"]) {
    const s = elf.section(name);
    if (s !== undefined && s.size >= 8) {
      return { bytes: elf.sectionBytes(s), vaddr: s.addr };
    }
  }
  const syms = findSymbols(elf, ["runtime.pclntab", "runtime.epclntab"]);
  const start = syms.get("runtime.pclntab"), end = syms.get("runtime.epclntab");
  if (start !== undefined && end !== undefined && end.value > start.value) {
    const b = readAtVaddr(elf, start.value, end.value - start.value);
    if (b !== undefined) return { bytes: b, vaddr: start.value };
  }
  // Bounded scan of read-only segments for `f0|f1 ff ff ff 00 00 q ps`.
  for (const p of elf.programHeaders) {
    if (p.type !== PT_LOAD || (p.flags & 1) !== 0 || p.filesz < 64) continue;
    const n = Math.min(p.filesz, PCLNTAB_SCAN_LIMIT);
    const b = elf.source.read(p.offset, n);
    for (let at = 0; at + 64 <= b.length; at += 8) {
      if (
        (b[at] === 0xf1 || b[at] === 0xf0) && b[at + 1] === 0xff &&
        b[at + 2] === 0xff && b[at + 3] === 0xff && b[at + 4] === 0 &&
        b[at + 5] === 0 && (b[at + 6] === 1 || b[at + 6] === 4) &&
        (b[at + 7] === 8 || b[at + 7] === 4)
      ) {
        return { bytes: b.subarray(at), vaddr: p.vaddr + at };
      }
    }
  }
  return undefined;
}

/** Bytes from the funcdata base to the end of its section or segment. */
export function gofuncBytes(
  elf: ElfFile,
  vaddr: number,
): { vaddr: number; bytes: Uint8Array } | undefined {
  for (const s of elf.sections) {
    if (s.addr === 0 || s.type === 8) continue;
    if (vaddr >= s.addr && vaddr < s.addr + s.size) {
      const b = elf.sectionBytes(s);
      return { vaddr, bytes: b.subarray(vaddr - s.addr) };
    }
  }
  for (const p of elf.programHeaders) {
    if (p.type !== PT_LOAD) continue;
    if (vaddr >= p.vaddr && vaddr < p.vaddr + p.filesz) {
      const n = p.vaddr + p.filesz - vaddr;
      const b = readAtVaddr(elf, vaddr, n);
      if (b !== undefined) return { vaddr, bytes: b };
    }
  }
  return undefined;
}
