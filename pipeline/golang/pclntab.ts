/**
 * gopclntab reader: function lookup, names, pc-value tables (pcsp, pcfile,
 * pcln, pcdata), file:line and inlined frames, for the Go 1.18 (magic
 * 0xfffffff0) and Go 1.20+ (0xfffffff1) formats.
 *
 * Glossary:
 * - pcHeader: the table's header (magic, quantum, pointer size, nfunc,
 *   offsets of the sub-tables relative to the header).
 * - functab: `nfunc + 1` pairs `{entryOff u32, funcOff u32}` sorted by entry;
 *   entries are offsets from the text start, the last one is the end of text.
 * - _func: per-function record (name, pc-value table offsets, flags, funcID,
 *   then `u32 pcdata[npcdata]`, `u32 funcdata[nfuncdata]`).
 * - pc-value table: zig-zag value deltas and pc deltas (× quantum) as
 *   uvarints, starting at value −1 at the function entry.
 * - inline tree: FUNCDATA 3, an array of inlined calls indexed by PCDATA 2;
 *   funcdata offsets are relative to `moduledata.gofunc` (`go:func.*`).
 * - text start: 1.18–1.25 store it in the header; 1.26 writes 0 there and the
 *   runtime uses `moduledata.text`, which this reader takes from the moduledata
 *   (`.go.module` section in 1.26, `runtime.firstmoduledata`, or a scan for a
 *   word pointing at the header), or the `runtime.text` symbol.
 *
 * The pieces live beside this file: constants and frame types in
 * `pclntab_format.ts`, the lookups of {@linkcode GoPclntab} in
 * `pclntab_table.ts`, header and functab validation in `_pclntab_header.ts`,
 * pc-value decoding in `_pcvalue.ts`, inline trees in `_inline_tree.ts`,
 * moduledata in `moduledata.ts` and locating the table in
 * `_pclntab_locate.ts`.
 *
 * @module
 */
import { BinaryFormatError } from "../binary/mod.ts";
import type { ElfFile } from "../elf/mod.ts";
import { findSymbols, u64le } from "./_elf_util.ts";
import type { PclntabOptions, TextStartSource } from "./pclntab_format.ts";
import { GoPclntab } from "./pclntab_table.ts";
import { gofuncBytes, locatePclntab } from "./_pclntab_locate.ts";
import { findGoModuledata } from "./moduledata.ts";

export * from "./pclntab_format.ts";
export * from "./moduledata.ts";
export { GoPclntab } from "./pclntab_table.ts";
export { GoSpecial } from "./_special.ts";

/**
 * Finds and parses the gopclntab of a Go ELF file, with the text start and
 * the funcdata base (for inlined frames) resolved from the header, the
 * moduledata, or symbols.
 *
 * @param elf The file.
 * @param options A known text start.
 * @returns The table.
 * @throws {BinaryFormatError} when no table is found, the format is older
 * than Go 1.18, or the header is malformed.
 *
 * @example Symbolize an address of a Go binary
 * ```ts ignore
 * import { parseGoPclntab } from "./pclntab.ts";
 * import { parseElf } from "../elf/mod.ts";
 * import { FileSource } from "../binary/mod.ts";
 * const elf = parseElf(new FileSource("/usr/local/go/bin/go"));
 * const tab = parseGoPclntab(elf);
 * console.log(tab.symbolize(elf.entry)[0]?.functionName); // _rt0_amd64_linux
 * ```
 */
export function parseGoPclntab(
  elf: ElfFile,
  options: PclntabOptions = {},
): GoPclntab {
  const found = locatePclntab(elf);
  if (found === undefined) {
    throw new BinaryFormatError(
      `Cannot read gopclntab of ${elf.source.name}: no .gopclntab section, runtime.pclntab symbol or table magic found`,
      { section: ".gopclntab" },
    );
  }
  const { bytes, vaddr } = found;
  // Validate the header first (refuses old magics with a clear message).
  const probe = new GoPclntab(bytes, vaddr, { value: 0, source: "option" });
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hdrText = probe.ptrSize === 8 ? u64le(v, 24) : v.getUint32(16, true);
  const funcnameOffset = probe.ptrSize === 8
    ? u64le(v, 32)
    : v.getUint32(20, true);
  const md = findGoModuledata(elf, {
    vaddr,
    funcnameOffset,
    magic: probe.magic,
  });
  let text: { value: number; source: TextStartSource } | undefined;
  if (options.textStart !== undefined) {
    text = { value: options.textStart, source: "option" };
  } else if (hdrText > 0) {
    text = { value: hdrText, source: "header" };
  } else if (md !== undefined) {
    text = { value: md.text, source: "moduledata" };
  } else {
    const sym = findSymbols(elf, ["runtime.text"]).get("runtime.text");
    if (sym !== undefined) text = { value: sym.value, source: "runtime.text" };
    else {
      const t = elf.section(".text");
      if (t !== undefined) text = { value: t.addr, source: ".text" };
    }
  }
  if (text === undefined) {
    throw new BinaryFormatError(
      `Cannot read gopclntab of ${elf.source.name}: the text start is not in the header and no moduledata, runtime.text or .text gives it`,
      { section: ".gopclntab" },
    );
  }
  let gofuncAddr = md !== undefined && md.gofunc > 0 ? md.gofunc : undefined;
  if (gofuncAddr === undefined) {
    const syms = findSymbols(elf, ["go:func.*", "go.func.*"]);
    gofuncAddr = (syms.get("go:func.*") ?? syms.get("go.func.*"))?.value;
  }
  let gofunc: { vaddr: number; bytes: Uint8Array } | undefined;
  if (gofuncAddr !== undefined) {
    gofunc = gofuncBytes(elf, gofuncAddr);
  }
  return new GoPclntab(bytes, vaddr, text, gofunc);
}
