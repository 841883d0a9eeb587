/**
 * The {@linkcode ProcSource} of a replay: serves the maps, facts and object
 * files a recording captured. Maps texts are returned in the order they were
 * read live (the last one repeats), and the clock is whatever the replay
 * driver sets, so the process table makes the same decisions as it did live.
 *
 * @module
 */
import { BytesSource } from "../binary/mod.ts";
import type { MapEntry } from "../proc/maps.ts";
import type { ObjectCache, ObjectFile, OpenFailure } from "../proc/object_cache.ts";
import type { ProcFacts } from "../proc/process_info.ts";
import type { ProcSource } from "../proc/table.ts";
import type { RecordedProcesses } from "./format.ts";

/** Serves a recording's process state. */
export class ReplayProcSource implements ProcSource {
  /** The replay clock in ms; the driver advances it with the samples. */
  now = 0;
  #procs: RecordedProcesses;
  #dir: string;
  #files: ObjectCache;
  #mapsRead = new Map<number, number>();

  /**
   * @param dir The recording folder.
   * @param procs Its procs.json.
   * @param files Object cache to parse files into.
   */
  constructor(dir: string, procs: RecordedProcesses, files: ObjectCache) {
    this.#dir = dir;
    this.#procs = procs;
    this.#files = files;
  }

  /** The next recorded maps text of `pid`. */
  readMaps(pid: number): string | undefined {
    const versions = this.#procs[pid]?.maps;
    if (versions === undefined || versions.length === 0) return undefined;
    const i = this.#mapsRead.get(pid) ?? 0;
    this.#mapsRead.set(pid, i + 1);
    return versions[Math.min(i, versions.length - 1)];
  }

  /** The recorded facts (constant, so no process looks replaced). */
  readFacts(pid: number): ProcFacts {
    return this.#procs[pid]?.facts ?? {};
  }

  /** The recorded object behind a mapping. */
  openMapped(pid: number, entry: MapEntry): ObjectFile | OpenFailure {
    const id = this.#procs[pid]?.objects[entry.start.toString(16)];
    if (id === undefined || id === "missing") return "missing";
    if (id === "not-elf") return "not-elf";
    return this.#files.get(`recorded:${id}`, () => {
      const bytes = Deno.readFileSync(`${this.#dir}/objects/${id}`);
      return { source: new BytesSource(bytes, `${entry.path} (recorded ${id})`), path: entry.path };
    });
  }

  /** The replay clock. */
  nowMs(): number {
    return this.now;
  }
}
