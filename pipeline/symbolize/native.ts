/**
 * Native symbolization: a link-time address of an ELF file → function name
 * (demangled C++/Rust through the Firefox profiler's WASM demangler), the raw
 * symbol name, and file:line from `.debug_line` when the binary or its
 * separate debug file carries it.
 *
 * @module
 */
import { demangle_any } from "gecko-profiler-demangle";
import { BinaryFormatError } from "../binary/mod.ts";
import type { ElfFile, SymbolHit } from "../elf/mod.ts";
import { buildLineTable, type LineTable } from "../dwarf/mod.ts";

/** What a native address resolves to. */
export interface NativeSymbol {
  /** Demangled function name. */
  readonly functionName: string;
  /** The symbol as in the file, when demangling changed it. */
  readonly systemName?: string;
  /** Start vaddr of the function. */
  readonly start: number;
  /** Source file, when line info exists. */
  readonly fileName?: string;
  /** Source line, when line info exists. */
  readonly line?: number;
}

/** Upper bound of the per-file address cache. */
const MAX_CACHE = 4096;

/**
 * Demangles a C++ (Itanium) or Rust (legacy and v0) symbol; other names are
 * returned unchanged.
 *
 * @param name A symbol name.
 * @returns The demangled name.
 *
 * @example
 * ```ts
 * import { demangle } from "./native.ts";
 * console.assert(demangle("_ZN3foo3barEv") === "foo::bar()");
 * ```
 */
export function demangle(name: string): string {
  if (
    !name.startsWith("_Z") && !name.startsWith("_R") && !name.startsWith("__Z")
  ) return name;
  try {
    const out = demangle_any(name);
    // Not a valid mangling: some demanglers just drop the underscore.
    return out === name.slice(1) ? name : out;
  } catch {
    return name;
  }
}

/**
 * Symbolizes addresses of one ELF file (plus its debug file). Create one per
 * file identity and keep it: symbol and line tables are built on first use,
 * and recent answers are cached.
 *
 * @example
 * ```ts ignore
 * const s = new NativeSymbolizer(elf, { debug: debugElf });
 * s.symbolize(0x1139); // { functionName: "main", start: 0x1130, fileName: "main.c", line: 3 }
 * ```
 */
export class NativeSymbolizer {
  #elf: ElfFile;
  #debug: ElfFile | undefined;
  #lines: LineTable | undefined | null = null;
  #cache = new Map<number, NativeSymbol | undefined>();

  /**
   * @param elf The mapped file.
   * @param options `debug`: its separate debug file (see `findDebugFile`).
   */
  constructor(elf: ElfFile, options: { debug?: ElfFile | undefined } = {}) {
    this.#elf = elf;
    this.#debug = options.debug;
  }

  /** The line table, built once; `undefined` without line info. */
  get lines(): LineTable | undefined {
    if (this.#lines === null) {
      this.#lines = undefined;
      for (const f of [this.#debug, this.#elf]) {
        if (f === undefined) continue;
        try {
          this.#lines = buildLineTable(f);
        } catch (err) {
          if (!(err instanceof BinaryFormatError)) throw err;
        }
        if (this.#lines !== undefined) break;
      }
    }
    return this.#lines;
  }

  /**
   * Resolves a link-time address. For return addresses pass pc − 1.
   *
   * @param vaddr Address in the file's link-time space.
   * @returns The function and position, or `undefined` when no symbol covers it.
   */
  symbolize(vaddr: number): NativeSymbol | undefined {
    if (this.#cache.has(vaddr)) return this.#cache.get(vaddr);
    const res = this.#resolve(vaddr);
    if (this.#cache.size >= MAX_CACHE) this.#cache.clear();
    this.#cache.set(vaddr, res);
    return res;
  }

  #resolve(vaddr: number): NativeSymbol | undefined {
    let hit: SymbolHit | undefined;
    for (const f of [this.#debug, this.#elf]) {
      if (f === undefined) continue;
      try {
        hit = f.symbols().lookup(vaddr);
      } catch (err) {
        if (!(err instanceof BinaryFormatError)) throw err;
      }
      if (hit !== undefined) break;
    }
    if (hit === undefined) return undefined;
    const functionName = demangle(hit.name);
    const pos = this.lines?.lookup(vaddr);
    return {
      functionName,
      ...(functionName !== hit.name ? { systemName: hit.name } : {}),
      start: hit.start,
      ...(pos !== undefined ? { fileName: pos.file, line: pos.line } : {}),
    };
  }
}
