/**
 * Parsed executables and libraries, shared by every process that maps them
 * and keyed by file identity (device, inode, size, mtime — what stays the same
 * for the same bytes on disk, whichever path or mount namespace reached them).
 * Bounded: least recently used entries are closed beyond `maxEntries`.
 *
 * What is derived from a file (symbols, unwind tables, Go tables) hangs off
 * {@linkcode ObjectFile.derived} so later stages can cache their own views
 * without this module knowing about them.
 *
 * @module
 */
import { type ByteSource, FileSource } from "../binary/mod.ts";
import { type ElfFile, parseElf } from "../elf/mod.ts";

/** An opened, parsed object file. */
export interface ObjectFile {
  /** Identity key (`dev:ino:size:mtime`, or a recording's id). */
  readonly key: string;
  /** Path used to open it. */
  readonly path: string;
  /** The parsed ELF image. */
  readonly elf: ElfFile;
  /** Per-file caches of later stages, keyed by the stage's name. */
  readonly derived: Map<string, unknown>;
}

/** Why opening failed, for counters. */
export type OpenFailure = "missing" | "not-elf";

/** Counters of the cache. */
export interface ObjectCacheStats {
  /** Files parsed. */
  opened: number;
  /** Lookups served from the cache. */
  hits: number;
  /** Files closed to respect the bound. */
  evicted: number;
  /** Opens that failed because the file could not be read. */
  missing: number;
  /** Opens that failed because the bytes were not a valid ELF file. */
  notElf: number;
}

/** LRU cache of parsed object files. */
export class ObjectCache implements Disposable {
  /** Counters since creation. */
  readonly stats: ObjectCacheStats = {
    opened: 0,
    hits: 0,
    evicted: 0,
    missing: 0,
    notElf: 0,
  };
  #max: number;
  #entries = new Map<string, ObjectFile | OpenFailure>();

  /**
   * @param options `maxEntries`: how many files stay open (default 128).
   */
  constructor(options: { maxEntries?: number } = {}) {
    this.#max = options.maxEntries ?? 128;
  }

  /** Number of cached entries (including remembered failures). */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Returns the parsed file for `key`, opening it with `open` on a miss. A
   * failure is remembered under the same key so a broken file is not parsed
   * again on every sample.
   *
   * @param key File identity.
   * @param open Produces the bytes; called only on a miss.
   * @returns The file, or why it could not be had.
   */
  get(
    key: string,
    open: () => { source: ByteSource; path: string },
  ): ObjectFile | OpenFailure {
    const hit = this.#entries.get(key);
    if (hit !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      this.stats.hits++;
      return hit;
    }
    let result: ObjectFile | OpenFailure;
    let source: ByteSource | undefined;
    try {
      const opened = open();
      source = opened.source;
      const elf = parseElf(opened.source);
      result = { key, path: opened.path, elf, derived: new Map() };
      this.stats.opened++;
    } catch (err) {
      closeSource(source);
      result = err instanceof SyntaxError ? "not-elf" : "missing";
      if (result === "not-elf") this.stats.notElf++;
      else this.stats.missing++;
    }
    this.#entries.set(key, result);
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value as string;
      const victim = this.#entries.get(oldest);
      this.#entries.delete(oldest);
      if (typeof victim === "object") closeSource(victim.elf.source);
      this.stats.evicted++;
    }
    return result;
  }

  /**
   * Opens a file by path on the host (or under `/proc/PID/root`), keyed by
   * its identity.
   *
   * @param path Path to stat and open.
   * @returns The file, or why it could not be had.
   */
  openPath(path: string): ObjectFile | OpenFailure {
    let key: string;
    try {
      key = identityOf(Deno.statSync(path));
    } catch {
      this.stats.missing++;
      return "missing";
    }
    return this.get(key, () => ({ source: new FileSource(path), path }));
  }

  /** Closes every open file. */
  close(): void {
    for (const v of this.#entries.values()) {
      if (typeof v === "object") closeSource(v.elf.source);
    }
    this.#entries.clear();
  }

  /** Same as {@linkcode ObjectCache.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * The identity of a file from its stat: same device, inode, size and
 * modification time means the same bytes for our purposes.
 *
 * @param info A stat result.
 * @returns The key.
 */
export function identityOf(info: Deno.FileInfo): string {
  return `${info.dev}:${info.ino}:${info.size}:${info.mtime?.getTime() ?? 0}`;
}

function closeSource(source: ByteSource | undefined): void {
  const closable = source as Partial<Disposable> | undefined;
  closable?.[Symbol.dispose]?.();
}
