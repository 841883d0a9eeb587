/**
 * DWARF pieces the profiler needs: call frame information compiled into a
 * sorted {@linkcode UnwindTable}, and `.debug_line` compiled into a pc →
 * file:line table.
 *
 * @example Compile the unwind table of libc
 * ```ts ignore
 * import { buildUnwindTable } from "./mod.ts";
 * import { parseElf } from "../elf/mod.ts";
 * import { FileSource } from "../binary/mod.ts";
 * const t = buildUnwindTable(parseElf(new FileSource("/usr/lib/x86_64-linux-gnu/libc.so.6")));
 * console.log(t.length);
 * ```
 *
 * @module
 */
export * from "./cfi.ts";
export * from "./cfi_rules.ts";
export * from "./encoded_pointer.ts";
export * from "./unwind_table.ts";
export * from "./lazy_unwind_table.ts";
export * from "./sections.ts";
export * from "./line.ts";
