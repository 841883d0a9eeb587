/**
 * Symbols of just-in-time compiled code from perf map files
 * (`/tmp/perf-PID.map`: one `START SIZE NAME` line per function, hexadecimal
 * numbers), which V8 (`node --perf-basic-prof`, `deno --v8-flags=--perf-basic-prof`),
 * the JVM with perf-map-agent, LuaJIT, .NET and others write so that
 * profilers can name code that has no file. A process's map is re-read when a
 * lookup misses and the file changed, at most once per `refreshMs`; files over
 * `maxBytes` are ignored (counted), so a runaway map cannot exhaust memory.
 *
 * @module
 */

/** One process's perf map, sorted by start address. */
export class PerfMap {
  /** Number of entries. */
  readonly size: number;
  #starts: Float64Array;
  #ends: Float64Array;
  #names: string[];

  private constructor(
    starts: Float64Array,
    ends: Float64Array,
    names: string[],
  ) {
    this.#starts = starts;
    this.#ends = ends;
    this.#names = names;
    this.size = starts.length;
  }

  /**
   * Parses a perf map. Malformed lines are skipped; later entries for the
   * same start replace earlier ones (code can be recompiled in place).
   *
   * @param text The file's contents.
   * @returns The map.
   *
   * @example
   * ```ts
   * import { PerfMap } from "./perf_map.ts";
   * const m = PerfMap.parse("7f0000001000 40 JS:*hot /app/main.js:3\n");
   * console.assert(m.lookup(0x7f0000001010) === "JS:*hot /app/main.js:3");
   * ```
   */
  static parse(text: string): PerfMap {
    const byStart = new Map<number, [number, string]>();
    for (const line of text.split("\n")) {
      const a = line.indexOf(" ");
      const b = a < 0 ? -1 : line.indexOf(" ", a + 1);
      if (b < 0) continue;
      const start = parseInt(line.slice(0, a), 16);
      const size = parseInt(line.slice(a + 1, b), 16);
      const name = line.slice(b + 1).trim();
      if (
        !Number.isSafeInteger(start) || !Number.isSafeInteger(size) ||
        size <= 0 || name === ""
      ) {
        continue;
      }
      byStart.set(start, [size, name]);
    }
    const rows = [...byStart].sort((x, y) => x[0] - y[0]);
    const starts = new Float64Array(rows.length);
    const ends = new Float64Array(rows.length);
    const names: string[] = new Array(rows.length);
    rows.forEach(([start, [size, name]], i) => {
      starts[i] = start;
      ends[i] = start + size;
      names[i] = name;
    });
    return new PerfMap(starts, ends, names);
  }

  /**
   * The function containing `address`.
   *
   * @param address A code address.
   * @returns Its name, or `undefined`.
   */
  lookup(address: number): string | undefined {
    let lo = 0;
    let hi = this.size - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (address < this.#starts[mid]!) hi = mid - 1;
      else if (address >= this.#ends[mid]!) lo = mid + 1;
      else return this.#names[mid];
    }
    return undefined;
  }
}

/** Counters of {@linkcode PerfMaps}. */
export interface PerfMapStats {
  /** Map files (re)read. */
  reads: number;
  /** Map files ignored for exceeding the size bound. */
  tooLarge: number;
}

interface Entry {
  map: PerfMap | undefined;
  checkedAtMs: number;
  mtimeMs: number;
  size: number;
}

/** Reads and caches the perf maps of live processes. */
export class PerfMaps {
  /** Counters since creation. */
  readonly stats: PerfMapStats = { reads: 0, tooLarge: 0 };
  #procRoot: string;
  #refreshMs: number;
  #maxBytes: number;
  #entries = new Map<number, Entry>();

  /**
   * @param options procfs mount, refresh period (default 1000 ms), size bound
   *   (default 64 MiB).
   */
  constructor(
    options: { procRoot?: string; refreshMs?: number; maxBytes?: number } = {},
  ) {
    this.#procRoot = options.procRoot ?? "/proc";
    this.#refreshMs = options.refreshMs ?? 1000;
    this.#maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  }

  /**
   * The JIT function containing `pc` in process `pid`, if its perf map says.
   *
   * @param pid Process id (as the host sees it; the file is looked up under
   *   the process's root too, for containers sharing the host pid).
   * @param pc A code address outside any file mapping.
   * @returns The function name, or `undefined`.
   */
  lookup(pid: number, pc: number): string | undefined {
    let e = this.#entries.get(pid);
    const hit = e?.map?.lookup(pc);
    if (hit !== undefined) return hit;
    const now = performance.now();
    if (e !== undefined && now - e.checkedAtMs < this.#refreshMs) {
      return undefined;
    }
    e = this.#reload(pid, e, now);
    this.#entries.set(pid, e);
    return e.map?.lookup(pc);
  }

  /** Forgets processes that are no longer tracked. */
  retain(alive: (pid: number) => boolean): void {
    for (const pid of this.#entries.keys()) {
      if (!alive(pid)) this.#entries.delete(pid);
    }
  }

  #reload(pid: number, old: Entry | undefined, now: number): Entry {
    for (
      const path of [
        `${this.#procRoot}/${pid}/root/tmp/perf-${pid}.map`,
        `/tmp/perf-${pid}.map`,
      ]
    ) {
      let info: Deno.FileInfo;
      try {
        info = Deno.statSync(path);
      } catch {
        continue;
      }
      const mtimeMs = info.mtime?.getTime() ?? 0;
      if (
        old?.map !== undefined && old.mtimeMs === mtimeMs &&
        old.size === info.size
      ) {
        return { ...old, checkedAtMs: now };
      }
      if (info.size > this.#maxBytes) {
        this.stats.tooLarge++;
        return { map: undefined, checkedAtMs: now, mtimeMs, size: info.size };
      }
      try {
        const map = PerfMap.parse(Deno.readTextFileSync(path));
        this.stats.reads++;
        return { map, checkedAtMs: now, mtimeMs, size: info.size };
      } catch {
        continue;
      }
    }
    return { map: undefined, checkedAtMs: now, mtimeMs: 0, size: 0 };
  }
}
