/**
 * The {@linkcode ProcSource} of a replay: serves the maps, facts, object
 * files and debug files a recording captured, and nothing from the host.
 * Maps texts are returned in the order they were read live (the last one
 * repeats), and the clock is whatever the replay driver sets, so the process
 * table makes the same decisions as it did live.
 *
 * @module
 */
import { gunzipSync } from "node:zlib";
import { BytesSource } from "../binary/mod.ts";
import { type DebugFile, setDebugFileLocator } from "../objects.ts";
import type { MapEntry } from "../proc/maps.ts";
import type {
  ObjectCache,
  ObjectFile,
  OpenFailure,
} from "../proc/object_cache.ts";
import type { ProcFacts } from "../proc/process_info.ts";
import type { ProcSource } from "../proc/table.ts";
import type { RecordedObjects, RecordedProcesses } from "./format.ts";

/**
 * Reads a stored object of a recording: `objects/ID.gz` (version 2) or
 * `objects/ID` (version 1).
 *
 * @param dir The recording folder.
 * @param id The object id.
 * @returns The uncompressed bytes.
 * @throws {Deno.errors.NotFound} when the recording lacks the object.
 *
 * @example
 * ```ts ignore
 * const bytes = readRecordedObject("tests/fixtures/recordings/native-o2", id);
 * ```
 */
export function readRecordedObject(dir: string, id: string): Uint8Array {
  if (!/^[0-9a-f]+(\.debug)?$/.test(id)) {
    throw new Deno.errors.NotFound(
      `Cannot read recorded object "${id}": not an object id`,
    );
  }
  try {
    return gunzipSync(Deno.readFileSync(`${dir}/objects/${id}.gz`));
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return Deno.readFileSync(`${dir}/objects/${id}`);
}

/** Serves a recording's process state. */
export class ReplayProcSource implements ProcSource {
  /** The replay clock in ms; the driver advances it with the samples. */
  now = 0;
  #procs: RecordedProcesses;
  #objects: RecordedObjects;
  #dir: string;
  #files: ObjectCache;
  #mapsRead = new Map<number, number>();

  /**
   * @param dir The recording folder.
   * @param procs Its procs.json.
   * @param files Object cache to parse files into.
   * @param objects Its objects.json (version 2; `{}` for version 1).
   */
  constructor(
    dir: string,
    procs: RecordedProcesses,
    files: ObjectCache,
    objects: RecordedObjects = {},
  ) {
    this.#dir = dir;
    this.#procs = procs;
    this.#files = files;
    this.#objects = objects;
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

  /** The recorded object behind a mapping, with its recorded debug file. */
  openMapped(pid: number, entry: MapEntry): ObjectFile | OpenFailure {
    const id = this.#procs[pid]?.objects[entry.start.toString(16)];
    if (id === undefined || id === "missing") return "missing";
    if (id === "not-elf") return "not-elf";
    const file = this.#files.get(`recorded:${id}`, () => ({
      source: new BytesSource(
        readRecordedObject(this.#dir, id),
        `${entry.path} (recorded ${id})`,
      ),
      path: entry.path,
    }));
    if (typeof file === "object") {
      // Never the host's debug folders: only what the recording found.
      setDebugFileLocator(file, () => this.#debugOf(id));
    }
    return file;
  }

  /** The replay clock. */
  nowMs(): number {
    return this.now;
  }

  #debugOf(id: string): DebugFile | undefined {
    const debugId = this.#objects[id]?.debug;
    if (debugId === undefined || debugId === "") return undefined;
    const path = this.#objects[debugId]?.debugPath ?? debugId;
    return {
      source: new BytesSource(
        readRecordedObject(this.#dir, debugId),
        `${path} (recorded ${debugId})`,
      ),
      path,
    };
  }
}
