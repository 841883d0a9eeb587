/**
 * ELF reading over any random-access byte source: headers, sections,
 * program headers, notes (GNU and Go build ids), `.gnu_debuglink`, function
 * symbols, load bias and separate debug files.
 *
 * @example Look up the function at an address
 * ```ts ignore
 * import { parseElf } from "@denoprof/denoprof/pipeline/elf/mod.ts";
 * import { FileSource } from "@denoprof/denoprof/pipeline/binary/mod.ts";
 * const elf = parseElf(new FileSource("/usr/bin/true"));
 * console.log(elf.symbols().lookup(elf.entry)?.name);
 * ```
 *
 * @module
 */
export * from "./elf.ts";
export * from "./symbols.ts";
export * from "./notes.ts";
export * from "./debug_file.ts";
export * from "./process_memory.ts";
