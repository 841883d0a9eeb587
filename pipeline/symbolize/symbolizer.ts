/**
 * Turns the pcs of an unwound stack into interned {@linkcode Location}s.
 * Locations are cached per process and pc (user space) or per address
 * (kernel), so a hot stack costs a few map lookups per sample after the first
 * time. The caches are bounded: a process's cache is dropped whole when it
 * grows past `maxLocationsPerProcess` (cheap, and rare in practice).
 *
 * Which symbolizer handles a user pc depends on the file: a file-level
 * {@linkcode FileSymbolizer} is built once per object file and cached on it,
 * so Go tables and native symbol tables are shared across processes.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { ByteSource } from "../binary/mod.ts";
import type { Line, Location, Mapping } from "../model.ts";
import type { ObjectFile } from "../proc/object_cache.ts";
import type { Module, ProcessState } from "../proc/table.ts";
import type { KernelSymbols } from "./kallsyms.ts";

/** What a file-level symbolizer says about one link-time address. */
export interface FileFrames {
  /** Go code or native code. */
  readonly kind: "go" | "native";
  /** Functions at the address, innermost first; empty when unknown. */
  readonly lines: readonly Line[];
}

/** Symbolizes link-time addresses of one object file. */
export interface FileSymbolizer {
  /**
   * @param vaddr Link-time address to describe (already adjusted to the call
   *   instruction for return addresses).
   */
  symbolize(vaddr: number): FileFrames;
}

/** Builds the symbolizer of a file (called once per file). */
export type FileSymbolizerFactory = (file: ObjectFile) => FileSymbolizer;

/** Counters of the symbolizer. */
export interface SymbolizerStats {
  /** User frames whose function was found. */
  symbolized: number;
  /** User frames left as `object+0xOFFSET`. */
  unsymbolized: number;
  /** Kernel frames with no kallsyms entry. */
  kernelUnknown: number;
  /** Per-process location caches dropped to bound memory. */
  cacheResets: number;
}

/** Options of {@linkcode Symbolizer}. */
export interface SymbolizerOptions {
  /** Builds per-file symbolizers; default: ELF symbol tables only. */
  fileSymbolizer?: FileSymbolizerFactory;
  /** Bound of each process's pc → location cache (default 65536). */
  maxLocationsPerProcess?: number;
  /** Names JIT code outside file mappings (perf maps); absent in replay. */
  jit?: { lookup(pid: number, pc: number): string | undefined };
}

const KERNEL_MAPPING: Mapping = {
  start: 0n,
  limit: 0xffffffffffffffffn,
  fileOffset: 0n,
  path: "[kernel.kallsyms]",
  buildIds: {},
};

const LOCATIONS = "symbolizer.locations";
const MAPPINGS = "symbolizer.mappings";
const FILE_SYMBOLIZER = "symbolizer.file";

/**
 * The default file symbolizer: names from `.symtab`/`.dynsym`, nothing else.
 *
 * @param file The object file.
 * @returns Its symbolizer.
 */
export function elfSymbolTableSymbolizer(file: ObjectFile): FileSymbolizer {
  const table = file.elf.symbols();
  return {
    symbolize(vaddr: number): FileFrames {
      const hit = table.lookup(vaddr);
      return {
        kind: "native",
        lines: hit === undefined ? [] : [{ functionName: hit.name }],
      };
    },
  };
}

/** Interns locations for the pipeline. */
export class Symbolizer {
  /** Counters since creation. */
  readonly stats: SymbolizerStats = {
    symbolized: 0,
    unsymbolized: 0,
    kernelUnknown: 0,
    cacheResets: 0,
  };
  #kernel: KernelSymbols;
  #factory: FileSymbolizerFactory;
  #maxPerProcess: number;
  #jit: SymbolizerOptions["jit"];
  #kernelCache = new Map<bigint, Location>();
  #errorCache = new Map<string, Location>();

  /**
   * @param kernel Kernel symbols.
   * @param options Per-file symbolizers and cache bounds.
   */
  constructor(kernel: KernelSymbols, options: SymbolizerOptions = {}) {
    this.#kernel = kernel;
    this.#factory = options.fileSymbolizer ?? elfSymbolTableSymbolizer;
    this.#maxPerProcess = options.maxLocationsPerProcess ?? 65536;
    this.#jit = options.jit;
  }

  /**
   * The location of a kernel return address or pc.
   *
   * @param address Kernel address.
   * @returns The interned location.
   */
  kernel(address: bigint): Location {
    let loc = this.#kernelCache.get(address);
    if (loc !== undefined) return loc;
    const sym = this.#kernel.lookup(address);
    if (sym === undefined) this.stats.kernelUnknown++;
    loc = {
      kind: "kernel",
      address,
      mapping: KERNEL_MAPPING,
      lines: sym === undefined ? [] : [{ functionName: sym.name }],
    };
    if (this.#kernelCache.size > 262144) this.#kernelCache.clear();
    this.#kernelCache.set(address, loc);
    return loc;
  }

  /**
   * The location for an unwinding failure, `[unwind: REASON]`.
   *
   * @param reason Why the unwinder stopped.
   * @returns The interned location.
   */
  error(reason: string): Location {
    let loc = this.#errorCache.get(reason);
    if (loc === undefined) {
      loc = {
        kind: "error",
        address: 0n,
        lines: [{ functionName: `[unwind: ${reason}]` }],
      };
      this.#errorCache.set(reason, loc);
    }
    return loc;
  }

  /**
   * The location of a user-space pc.
   *
   * @param proc The process.
   * @param pc The pc.
   * @param isReturnAddress True for every frame but the innermost: the call
   *   instruction is just before the return address, so `pc − 1` is looked up.
   * @param resolveModule Finds the module containing a lookup pc; called only
   *   when the location is not cached yet (the hot path is one map lookup).
   * @returns The interned location.
   */
  user(
    proc: ProcessState,
    pc: number,
    isReturnAddress: boolean,
    resolveModule: (lookupPc: number) => Module | undefined,
  ): Location {
    let cache = proc.derived.get(LOCATIONS) as
      | Map<number, Location>
      | undefined;
    if (cache === undefined) {
      cache = new Map();
      proc.derived.set(LOCATIONS, cache);
    }
    const key = pc * 2 + (isReturnAddress ? 1 : 0);
    let loc = cache.get(key);
    if (loc !== undefined) return loc;
    if (cache.size >= this.#maxPerProcess) {
      cache.clear();
      this.stats.cacheResets++;
    }
    const module = resolveModule(isReturnAddress ? pc - 1 : pc);
    loc = this.#userLocation(proc, module, pc, isReturnAddress);
    // An unnamed pc outside any file may be JIT code whose perf map entry is
    // not written yet: do not remember the miss.
    if (loc.lines.length > 0 || module?.file !== undefined) cache.set(key, loc);
    return loc;
  }

  #userLocation(
    proc: ProcessState,
    module: Module | undefined,
    pc: number,
    isReturnAddress: boolean,
  ): Location {
    const address = BigInt(pc);
    if (module === undefined || module.file === undefined) {
      const jitName = this.#jit?.lookup(
        proc.pid,
        isReturnAddress ? pc - 1 : pc,
      );
      const lines = jitName === undefined ? [] : [{ functionName: jitName }];
      if (jitName === undefined) this.stats.unsymbolized++;
      else this.stats.symbolized++;
      if (module === undefined) return { kind: "native", address, lines };
      return {
        kind: "native",
        address,
        mapping: this.#mapping(proc, module),
        lines,
      };
    }
    const mapping = this.#mapping(proc, module);
    let fs = module.file.derived.get(FILE_SYMBOLIZER) as
      | FileSymbolizer
      | undefined;
    if (fs === undefined) {
      fs = this.#factory(module.file);
      module.file.derived.set(FILE_SYMBOLIZER, fs);
    }
    const vaddr = pc - module.bias - (isReturnAddress ? 1 : 0);
    const frames = fs.symbolize(vaddr);
    if (frames.lines.length === 0) this.stats.unsymbolized++;
    else this.stats.symbolized++;
    return { kind: frames.kind, address, mapping, lines: frames.lines };
  }

  #mapping(proc: ProcessState, module: Module): Mapping {
    let mappings = proc.derived.get(MAPPINGS) as
      | Map<Module, Mapping>
      | undefined;
    if (mappings === undefined) {
      mappings = new Map();
      proc.derived.set(MAPPINGS, mappings);
    }
    let m = mappings.get(module);
    if (m === undefined) {
      const elf = module.file?.elf;
      const gnu = safe(() => elf?.gnuBuildId());
      const go = safe(() => elf?.goBuildId());
      const htl = module.file === undefined
        ? undefined
        : htlhashOf(module.file);
      m = {
        start: BigInt(module.entry.start),
        limit: BigInt(module.entry.end),
        fileOffset: BigInt(module.entry.offset),
        path: module.entry.path,
        buildIds: {
          ...(gnu === undefined ? {} : { gnu }),
          ...(go === undefined ? {} : { go }),
          ...(htl === undefined ? {} : { htlhash: htl }),
        },
      };
      mappings.set(module, m);
    }
    return m;
  }
}

/**
 * The folded-output name of a location's frame when it has no function:
 * `object+0xOFFSET`, the file offset in the object like perf prints it.
 *
 * @param loc An unsymbolized location.
 * @returns The name.
 */
export function unsymbolizedName(loc: Location): string {
  const m = loc.mapping;
  if (m === undefined) return `[unknown]+0x${loc.address.toString(16)}`;
  const base = m.path.slice(m.path.lastIndexOf("/") + 1) || "[anon]";
  return `${base}+0x${(loc.address - m.start + m.fileOffset).toString(16)}`;
}

function safe<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

const HTLHASH = "symbolizer.htlhash";

/**
 * The htlhash file id (opentelemetry-ebpf-profiler's): SHA-256 over the first
 * 4096 bytes, the last 4096 bytes and the big-endian u64 file length; the
 * first 16 bytes as hex. Cached on the file.
 *
 * @param file An object file.
 * @returns The id, or `undefined` when the bytes cannot be read.
 */
export function htlhashOf(file: ObjectFile): string | undefined {
  if (file.derived.has(HTLHASH)) {
    return file.derived.get(HTLHASH) as string | undefined;
  }
  const value = safe(() => htlhash(file.elf.source));
  file.derived.set(HTLHASH, value);
  return value;
}

/**
 * Computes the htlhash of a byte source.
 *
 * @param src The whole file.
 * @returns 32 hex digits.
 */
export function htlhash(src: ByteSource): string {
  const n = Math.min(4096, src.size);
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(src.size), false);
  return createHash("sha256")
    .update(src.read(0, n))
    .update(src.read(src.size - n, n))
    .update(len)
    .digest("hex")
    .slice(0, 32);
}
