/**
 * Go support: binary detection and version (`.go.buildinfo`), gopclntab
 * (functions, pcsp, file:line, inlined frames), runtime struct and TLS
 * offsets, and the pcsp-based frame stepper the unwinder calls for Go code.
 *
 * @example Symbolize a pc of a Go binary
 * ```ts ignore
 * import { openGoBinary } from "./mod.ts";
 * import { parseElf } from "../elf/mod.ts";
 * import { FileSource } from "../binary/mod.ts";
 * const go = openGoBinary(parseElf(new FileSource("./prog")))!;
 * for (const f of go.symbolizeGo(0x47dd0e, false)) {
 *   console.log(f.functionName, `${f.fileName}:${f.line}`, f.inlined);
 * }
 * ```
 *
 * @module
 */
export * from "./buildinfo.ts";
export * from "./pclntab.ts";
export * from "./offsets.ts";
export * from "./dwarf_structs.ts";
export * from "./unwind.ts";
export * from "./go_binary.ts";
