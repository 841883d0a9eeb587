/**
 * Go moduledata lookup: the runtime's per-module table, read here for the
 * text start (Go 1.26 writes 0 in the pclntab header) and `gofunc`, the
 * funcdata base of inline trees.
 *
 * @module
 */
import type { ElfFile } from "../elf/mod.ts";
import { findSymbols, readAtVaddr, u64le } from "./_elf_util.ts";
import { PCLNTAB_MAGIC_118 } from "./pclntab_format.ts";

/** The moduledata fields denoprof reads. */
export interface GoModuledata {
  /** Link-time address of the moduledata. */
  readonly vaddr: number;
  /** `pcHeader` pointer. */
  readonly pcHeader: number;
  /** `text`. */
  readonly text: number;
  /** `etext`. */
  readonly etext: number;
  /** `gofunc` (go:func.*). */
  readonly gofunc: number;
}

/**
 * Reads the moduledata at `at` of `bytes`, checking that it points at the
 * pclntab header at `pclnVaddr` (its first word) and at its funcnametab.
 */
function moduledataAt(
  bytes: Uint8Array,
  at: number,
  vaddr: number,
  pclnVaddr: number,
  funcnameOffset: number,
  magic: number,
): GoModuledata | undefined {
  // gofunc: word 38 before Go 1.20 (no covctrs), word 40 from 1.20.
  const gofuncWord = magic === PCLNTAB_MAGIC_118 ? 38 : 40;
  if (at < 0 || at + (gofuncWord + 1) * 8 > bytes.length) return undefined;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (u64le(v, at) !== pclnVaddr) return undefined;
  if (u64le(v, at + 8) !== pclnVaddr + funcnameOffset) return undefined;
  const text = u64le(v, at + 22 * 8), etext = u64le(v, at + 23 * 8);
  if (text <= 0 || etext < text) return undefined;
  return {
    vaddr,
    pcHeader: pclnVaddr,
    text,
    etext,
    gofunc: u64le(v, at + gofuncWord * 8),
  };
}

/**
 * Finds the module data of a Go ELF file: the `.go.module` section (Go 1.26),
 * the `runtime.firstmoduledata` symbol, or a scan of the data sections for a
 * word that points at the pclntab header.
 *
 * @param elf The file.
 * @param pcln Address, funcname offset and magic of the pclntab header.
 * @returns The fields, or `undefined` when not found (e.g. an externally
 * linked PIE whose moduledata is filled by dynamic relocations).
 */
export function findGoModuledata(
  elf: ElfFile,
  pcln: { vaddr: number; funcnameOffset: number; magic: number },
): GoModuledata | undefined {
  if (!elf.is64 || !elf.littleEndian) return undefined;
  const tryRange = (bytes: Uint8Array, base: number, step: number) => {
    for (let at = 0; at + 8 <= bytes.length; at += step) {
      const m = moduledataAt(
        bytes,
        at,
        base + at,
        pcln.vaddr,
        pcln.funcnameOffset,
        pcln.magic,
      );
      if (m !== undefined) return m;
    }
    return undefined;
  };
  const mod = elf.section(".go.module");
  if (mod !== undefined && mod.size > 0) {
    const m = tryRange(elf.sectionBytes(mod), mod.addr, 8);
    if (m) return m;
  }
  const sym = findSymbols(elf, ["runtime.firstmoduledata"]).get(
    "runtime.firstmoduledata",
  );
  if (sym !== undefined) {
    const b = readAtVaddr(elf, sym.value, 41 * 8);
    if (b !== undefined) {
      const m = tryRange(b.subarray(0, 8), sym.value, 8) ??
        moduledataAt(
          b,
          0,
          sym.value,
          pcln.vaddr,
          pcln.funcnameOffset,
          pcln.magic,
        );
      if (m) return m;
    }
  }
  for (const name of [".noptrdata", ".data", ".data.rel.ro"]) {
    const s = elf.section(name);
    if (s === undefined || s.size === 0 || s.size > 64 << 20) continue;
    const m = tryRange(elf.sectionBytes(s), s.addr, 8);
    if (m) return m;
  }
  return undefined;
}
