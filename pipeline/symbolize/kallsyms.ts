/**
 * Kernel symbols from `/proc/kallsyms`. Kernel text lives above 2^63, where a
 * double cannot hold an exact address, so the table stores each symbol as a
 * double offset from the lowest text address (a bigint) and lookups subtract
 * that base first. The text range is far below 2^53 bytes wide.
 *
 * @module
 */

/** A kernel symbol that contains a looked-up address. */
export interface KernelSymbol {
  /** Symbol name, e.g. `do_syscall_64`. */
  readonly name: string;
  /** Loadable module that holds it, when not the core kernel. */
  readonly module?: string;
  /** Start address of the symbol. */
  readonly start: bigint;
}

/** Sorted kernel text symbols with binary-search lookup. */
export class KernelSymbols {
  /** Number of text symbols. */
  readonly size: number;
  #base: bigint;
  #offsets: Float64Array;
  #names: string[];
  #modules: (string | undefined)[];

  private constructor(
    base: bigint,
    offsets: Float64Array,
    names: string[],
    modules: (string | undefined)[],
  ) {
    this.#base = base;
    this.#offsets = offsets;
    this.#names = names;
    this.#modules = modules;
    this.size = offsets.length;
  }

  /**
   * Parses the text of `/proc/kallsyms`. Only text symbols (`t`, `T`, `w`, `W`)
   * are kept. When the kernel hides addresses (`kptr_restrict`, not root) every
   * address reads 0 and the table comes out empty.
   *
   * @param text The file's contents.
   * @returns The table.
   *
   * @example Look up an address
   * ```ts
   * import { KernelSymbols } from "./kallsyms.ts";
   * const syms = KernelSymbols.parse(
   *   "ffffffff81000000 T _stext\nffffffff81000100 T do_work\tfoo\n",
   * );
   * console.assert(syms.lookup(0xffffffff81000104n)?.name === "do_work");
   * ```
   */
  static parse(text: string): KernelSymbols {
    const rows: { addr: bigint; name: string; module: string | undefined }[] =
      [];
    for (const line of text.split("\n")) {
      // "ffffffff81000000 T _stext" or "ffffffffc0a01000 t fn\t[module]"
      const sp1 = line.indexOf(" ");
      if (sp1 <= 0 || line.length < sp1 + 3) continue;
      const type = line[sp1 + 1];
      if (type !== "t" && type !== "T" && type !== "w" && type !== "W") {
        continue;
      }
      let addr: bigint;
      try {
        addr = BigInt("0x" + line.slice(0, sp1));
      } catch {
        continue;
      }
      if (addr === 0n) continue;
      const rest = line.slice(sp1 + 3);
      const tab = rest.indexOf("\t");
      const name = tab < 0 ? rest : rest.slice(0, tab);
      const module = tab < 0
        ? undefined
        : rest.slice(tab + 1).replace(/^\[|\]$/g, "");
      rows.push({ addr, name, module });
    }
    rows.sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
    const base = rows.length > 0 ? rows[0]!.addr : 0n;
    const offsets = new Float64Array(rows.length);
    const names: string[] = new Array(rows.length);
    const modules: (string | undefined)[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      offsets[i] = Number(rows[i]!.addr - base);
      names[i] = rows[i]!.name;
      modules[i] = rows[i]!.module;
    }
    return new KernelSymbols(base, offsets, names, modules);
  }

  /**
   * Reads and parses `/proc/kallsyms`.
   *
   * @returns The table (empty when addresses are hidden).
   */
  static load(): KernelSymbols {
    return KernelSymbols.parse(Deno.readTextFileSync("/proc/kallsyms"));
  }

  /**
   * Finds the symbol containing `address`: the last symbol starting at or
   * below it. Addresses below the first symbol have none.
   *
   * @param address A kernel address.
   * @returns The symbol, or `undefined`.
   */
  lookup(address: bigint): KernelSymbol | undefined {
    if (this.size === 0 || address < this.#base) return undefined;
    const off = Number(address - this.#base);
    const offs = this.#offsets;
    let lo = 0;
    let hi = offs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (offs[mid]! <= off) lo = mid;
      else hi = mid - 1;
    }
    if (offs[lo]! > off) return undefined;
    const module = this.#modules[lo];
    const start = this.#base + BigInt(offs[lo]!);
    return module === undefined
      ? { name: this.#names[lo]!, start }
      : { name: this.#names[lo]!, module, start };
  }
}
