/**
 * The process table: for each pid seen in samples, its memory map, facts and
 * the object files behind its executable mappings. Maps are re-read when a pc
 * falls outside every known mapping (at most once per `refreshIntervalMs`), a
 * reused pid or an exec is noticed by start time and executable on each
 * {@linkcode ProcessTable.sweep}, and exited processes are dropped there.
 *
 * Where the bytes come from is a {@linkcode ProcSource}: the live host
 * (`/proc`) or a recording, so replay runs the same code.
 *
 * @module
 */
import { loadBias } from "../elf/mod.ts";
import { findMapping, type MapEntry, parseMaps } from "./maps.ts";
import type { ObjectFile, OpenFailure } from "./object_cache.ts";
import type { ProcFacts } from "./process_info.ts";

/** Where process state is read from. */
export interface ProcSource {
  /** Text of `/proc/PID/maps`, or `undefined` when the process is gone. */
  readMaps(pid: number): string | undefined;
  /** Facts about the process (empty when gone). */
  readFacts(pid: number): ProcFacts;
  /** The object file behind an executable mapping. */
  openMapped(pid: number, entry: MapEntry): ObjectFile | OpenFailure;
  /** Milliseconds on a monotonic clock. */
  nowMs(): number;
}

/** An executable mapping and the file behind it. */
export interface Module {
  /** The mapping. */
  readonly entry: MapEntry;
  /** The parsed file, when it could be opened. */
  readonly file: ObjectFile | undefined;
  /** Why the file could not be opened. */
  readonly failure: OpenFailure | undefined;
  /** Load bias: link-time address = runtime address − bias. */
  readonly bias: number;
}

/** One process the table knows. */
export class ProcessState {
  /** Process id. */
  readonly pid: number;
  /** Facts read on first sight (refreshed on exec). */
  facts: ProcFacts;
  /** Current memory map, sorted by start. */
  entries: MapEntry[] = [];
  /** Last time the map was read. */
  mapsReadAtMs = -Infinity;
  /** Whether the map could be read at all. */
  mapsKnown = false;
  /** Per-process caches of later stages (e.g. pc → symbolized location). */
  readonly derived = new Map<string, unknown>();
  #modules = new Map<number, Module>();

  /**
   * @param pid Process id.
   * @param facts What `/proc/PID` said on first sight.
   */
  constructor(pid: number, facts: ProcFacts) {
    this.pid = pid;
    this.facts = facts;
  }

  /** Cached module of a mapping (internal to the table). */
  moduleOf(entry: MapEntry, make: () => Module): Module {
    let m = this.#modules.get(entry.start);
    if (m === undefined || m.entry !== entry) {
      m = make();
      this.#modules.set(entry.start, m);
    }
    return m;
  }

  /** Forgets cached modules (after the map changed). */
  resetModules(): void {
    this.#modules.clear();
  }
}

/** Counters of the table. */
export interface ProcessTableStats {
  /** Processes first seen. */
  added: number;
  /** Processes dropped because they exited. */
  exited: number;
  /** Pids found reused or re-executed, state rebuilt. */
  replaced: number;
  /** Map re-reads. */
  mapRefreshes: number;
  /** Lookups of a pc outside every mapping (after any refresh). */
  unmappedPcs: number;
  /** Processes not added because the table was full. */
  overflow: number;
}

/** Options of {@linkcode ProcessTable}. */
export interface ProcessTableOptions {
  /** Minimum time between two map re-reads of one process (default 500 ms). */
  refreshIntervalMs?: number;
  /** Most processes tracked at once (default 4096). */
  maxProcesses?: number;
}

/** Tracks processes and resolves their pcs to modules. */
export class ProcessTable {
  /** Counters since creation. */
  readonly stats: ProcessTableStats = {
    added: 0,
    exited: 0,
    replaced: 0,
    mapRefreshes: 0,
    unmappedPcs: 0,
    overflow: 0,
  };
  #source: ProcSource;
  #refreshMs: number;
  #max: number;
  #procs = new Map<number, ProcessState>();

  /**
   * @param source Where to read process state.
   * @param options Limits.
   */
  constructor(source: ProcSource, options: ProcessTableOptions = {}) {
    this.#source = source;
    this.#refreshMs = options.refreshIntervalMs ?? 500;
    this.#max = options.maxProcesses ?? 4096;
  }

  /** Number of tracked processes. */
  get size(): number {
    return this.#procs.size;
  }

  /**
   * The state of `pid`, read on first sight. Returns `undefined` only when the
   * table is full.
   *
   * @param pid Process id.
   * @returns The state.
   */
  get(pid: number): ProcessState | undefined {
    let p = this.#procs.get(pid);
    if (p !== undefined) return p;
    if (this.#procs.size >= this.#max) {
      this.stats.overflow++;
      return undefined;
    }
    p = new ProcessState(pid, this.#source.readFacts(pid));
    this.#refresh(p);
    this.#procs.set(pid, p);
    this.stats.added++;
    return p;
  }

  /**
   * The state of `pid` if it is tracked, without reading anything.
   *
   * @param pid Process id.
   * @returns The state, or `undefined`.
   */
  peek(pid: number): ProcessState | undefined {
    return this.#procs.get(pid);
  }

  /**
   * Finds the executable module containing `pc`, re-reading the map (rate
   * limited) when no mapping contains it.
   *
   * @param proc The process.
   * @param pc A code address.
   * @returns The module, or `undefined` for unmapped memory.
   */
  resolve(proc: ProcessState, pc: number): Module | undefined {
    let entry = findMapping(proc.entries, pc);
    if (
      entry === undefined &&
      this.#source.nowMs() - proc.mapsReadAtMs >= this.#refreshMs
    ) {
      this.#refresh(proc);
      entry = findMapping(proc.entries, pc);
    }
    if (entry === undefined) {
      this.stats.unmappedPcs++;
      return undefined;
    }
    const found = entry;
    return proc.moduleOf(found, () => this.#makeModule(proc.pid, found));
  }

  /**
   * Finds the mapping containing an address without opening anything (used
   * to check that a stack pointer lies in `[stack]` and similar).
   *
   * @param proc The process.
   * @param address Any address.
   * @returns The mapping, or `undefined`.
   */
  mappingAt(proc: ProcessState, address: number): MapEntry | undefined {
    return findMapping(proc.entries, address);
  }

  /**
   * Drops exited processes and rebuilds those whose pid was reused or that
   * exec'd (start time or executable changed). Call once per window.
   */
  sweep(): void {
    for (const [pid, p] of this.#procs) {
      const facts = this.#source.readFacts(pid);
      if (facts.startTime === undefined) {
        this.#procs.delete(pid);
        this.stats.exited++;
        continue;
      }
      if (facts.startTime !== p.facts.startTime || facts.exe !== p.facts.exe) {
        const fresh = new ProcessState(pid, facts);
        this.#refresh(fresh);
        this.#procs.set(pid, fresh);
        this.stats.replaced++;
      }
    }
  }

  #refresh(p: ProcessState): void {
    p.mapsReadAtMs = this.#source.nowMs();
    const text = this.#source.readMaps(p.pid);
    this.stats.mapRefreshes++;
    if (text === undefined) return;
    p.entries = parseMaps(text).entries;
    p.mapsKnown = true;
    p.resetModules();
  }

  #makeModule(pid: number, entry: MapEntry): Module {
    const opened = this.#source.openMapped(pid, entry);
    if (typeof opened === "string") {
      return { entry, file: undefined, failure: opened, bias: 0 };
    }
    const bias = loadBias(opened.elf, entry.start, entry.offset) ?? 0;
    return { entry, file: opened, failure: undefined, bias };
  }
}
