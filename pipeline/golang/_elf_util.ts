/**
 * Small ELF helpers the Go readers share: virtual address to file offset,
 * reading bytes at a vaddr, and looking up any `.symtab` symbol by name
 * (the ELF module's table holds functions only; Go needs data symbols such as
 * `runtime.firstmoduledata`).
 *
 * @module
 */
import { BinaryFormatError } from "../binary/mod.ts";
import { type ElfFile, PT_LOAD, SHT_NOBITS } from "../elf/mod.ts";

const SHT_SYMTAB = 2;
const latin = new TextDecoder("latin1");

/**
 * Reads `length` bytes of the file image at virtual address `vaddr`, from the
 * section or PT_LOAD segment that holds them in the file.
 *
 * @param elf The file.
 * @param vaddr Link-time virtual address.
 * @param length Number of bytes.
 * @returns The bytes, or `undefined` when no file-backed range holds them.
 */
export function readAtVaddr(
  elf: ElfFile,
  vaddr: number,
  length: number,
): Uint8Array | undefined {
  for (const p of elf.programHeaders) {
    if (p.type !== PT_LOAD) continue;
    if (vaddr >= p.vaddr && vaddr + length <= p.vaddr + p.filesz) {
      try {
        return elf.source.read(p.offset + (vaddr - p.vaddr), length);
      } catch (err) {
        if (err instanceof BinaryFormatError) return undefined;
        throw err;
      }
    }
  }
  for (const s of elf.sections) {
    if (s.type === SHT_NOBITS || s.addr === 0) continue;
    if (vaddr >= s.addr && vaddr + length <= s.addr + s.size) {
      try {
        return elf.source.read(s.offset + (vaddr - s.addr), length);
      } catch (err) {
        if (err instanceof BinaryFormatError) return undefined;
        throw err;
      }
    }
  }
  return undefined;
}

/** A `.symtab` symbol found by name. */
export interface NamedSymbol {
  /** `st_value`. */
  readonly value: number;
  /** `st_size`. */
  readonly size: number;
}

const symCache = new WeakMap<ElfFile, Map<string, NamedSymbol>>();

/**
 * Looks up `.symtab` symbols of any type by exact name. One linear pass over
 * the table per file, remembered for the names asked for.
 *
 * @param elf The file.
 * @param names The names wanted.
 * @returns Found symbols by name (absent names are missing from the map).
 */
export function findSymbols(
  elf: ElfFile,
  names: readonly string[],
): Map<string, NamedSymbol> {
  let cache = symCache.get(elf);
  if (cache === undefined) {
    cache = new Map();
    symCache.set(elf, cache);
  }
  const want = names.filter((n) => !cache.has(n));
  if (want.length > 0) {
    const wantBytes = want.map((n) => new TextEncoder().encode(n));
    for (const n of want) cache.set(n, { value: -1, size: 0 });
    for (const sec of elf.sections) {
      if (sec.type !== SHT_SYMTAB || !elf.is64) continue;
      const strSec = elf.sections[sec.link];
      if (strSec === undefined) continue;
      let bytes: Uint8Array, strtab: Uint8Array;
      try {
        bytes = elf.sectionBytes(sec);
        strtab = elf.sectionBytes(strSec);
      } catch (err) {
        if (err instanceof BinaryFormatError) continue;
        throw err;
      }
      const view = new DataView(
        bytes.buffer,
        bytes.byteOffset,
        bytes.byteLength,
      );
      const le = elf.littleEndian;
      for (let o = 24; o + 24 <= bytes.length; o += 24) {
        const nameOff = view.getUint32(o, le);
        if (nameOff === 0 || nameOff >= strtab.length) continue;
        for (let w = 0; w < wantBytes.length; w++) {
          const wb = wantBytes[w]!;
          if (
            nameOff + wb.length < strtab.length &&
            strtab[nameOff + wb.length] === 0 &&
            strtab[nameOff] === wb[0] && bytesEqual(strtab, nameOff, wb)
          ) {
            const lo = view.getUint32(o + 8, le),
              hi = view.getUint32(o + 12, le);
            const slo = view.getUint32(o + 16, le),
              shi = view.getUint32(o + 20, le);
            if (hi > 0x1fffff || shi > 0x1fffff) continue;
            const name = latin.decode(wb);
            if ((cache.get(name)?.value ?? -1) < 0) {
              cache.set(name, {
                value: hi * 0x100000000 + lo,
                size: shi * 0x100000000 + slo,
              });
            }
          }
        }
      }
    }
  }
  const out = new Map<string, NamedSymbol>();
  for (const n of names) {
    const s = cache.get(n);
    if (s !== undefined && s.value >= 0) out.set(n, s);
  }
  return out;
}

function bytesEqual(hay: Uint8Array, at: number, needle: Uint8Array): boolean {
  for (let i = 0; i < needle.length; i++) {
    if (hay[at + i] !== needle[i]) return false;
  }
  return true;
}

/**
 * Reads a little-endian u64 at `o` of `v`.
 *
 * @returns The value, or -1 when it exceeds 2^53.
 */
export function u64le(v: DataView, o: number): number {
  const lo = v.getUint32(o, true), hi = v.getUint32(o + 4, true);
  return hi > 0x1fffff ? -1 : hi * 0x100000000 + lo;
}
