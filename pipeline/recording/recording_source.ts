/**
 * A {@linkcode ProcSource} decorator that writes down every read the pipeline
 * makes (maps texts, facts, object files, and the debug files symbolization
 * finds for them) so a replay can serve the same bytes. Object files are
 * stored once per identity, gzipped; debug files are reduced to the sections
 * symbolization reads ({@linkcode slimDebugFile}).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { parseElf } from "../elf/mod.ts";
import {
  DEBUG_FILE_LOCATOR,
  type DebugFile,
  type DebugFileLocator,
  hostDebugFile,
  setDebugFileLocator,
} from "../objects.ts";
import type { MapEntry } from "../proc/maps.ts";
import type { ObjectFile, OpenFailure } from "../proc/object_cache.ts";
import type { ProcFacts } from "../proc/process_info.ts";
import type { ProcSource } from "../proc/table.ts";
import type { RecordedObjects, RecordedProcesses } from "./format.ts";
import { slimDebugFile } from "./slim_elf.ts";

/** Largest object file copied into a recording (bigger ones are left out, counted). */
export const MAX_RECORDED_OBJECT_BYTES = 256 * 1024 * 1024;

/** Options of {@linkcode RecordingProcSource}. */
export interface RecordingSourceOptions {
  /** Finds debug files on the recording host (default {@linkcode hostDebugFile}). */
  debugLocator?: DebugFileLocator;
}

/** Records what passes through to `inner`. */
export class RecordingProcSource implements ProcSource {
  /** What has been read, by pid. */
  readonly procs: RecordedProcesses = {};
  /** The object files stored, by id. */
  readonly objects: RecordedObjects = {};
  /** Object files skipped as too large. */
  skippedObjects = 0;
  #inner: ProcSource;
  #dir: string;
  #debugLocator: DebugFileLocator;

  /**
   * @param inner The live source.
   * @param dir The recording folder (objects go to DIR/objects).
   * @param options How debug files are found.
   */
  constructor(
    inner: ProcSource,
    dir: string,
    options: RecordingSourceOptions = {},
  ) {
    this.#inner = inner;
    this.#dir = dir;
    this.#debugLocator = options.debugLocator ?? hostDebugFile;
    Deno.mkdirSync(`${dir}/objects`, { recursive: true });
  }

  #proc(pid: number) {
    return (this.procs[pid] ??= { facts: {}, maps: [], objects: {} });
  }

  /** Reads and records the maps text. */
  readMaps(pid: number): string | undefined {
    const text = this.#inner.readMaps(pid);
    if (text !== undefined) this.#proc(pid).maps.push(text);
    return text;
  }

  /** Reads facts; the first read is recorded. */
  readFacts(pid: number): ProcFacts {
    const facts = this.#inner.readFacts(pid);
    const p = this.#proc(pid);
    if (Object.keys(p.facts).length === 0) p.facts = facts;
    return facts;
  }

  /** Opens the object, stores its bytes once and records its debug file lookup. */
  openMapped(pid: number, entry: MapEntry): ObjectFile | OpenFailure {
    const result = this.#inner.openMapped(pid, entry);
    const p = this.#proc(pid);
    const where = entry.start.toString(16);
    if (typeof result === "string") {
      p.objects[where] = result;
      return result;
    }
    const id = createHash("sha256").update(result.key).digest("hex").slice(
      0,
      24,
    );
    p.objects[where] = id;
    if (this.objects[id] === undefined) {
      const src = result.elf.source;
      const rec = (this.objects[id] = {
        path: result.path,
        size: src.size,
      } as RecordedObjects[string]);
      if (src.size <= MAX_RECORDED_OBJECT_BYTES) {
        this.#store(id, src.read(0, src.size));
      } else {
        rec.skipped = true;
        this.skippedObjects++;
      }
    }
    if (!result.derived.has(DEBUG_FILE_LOCATOR)) {
      setDebugFileLocator(result, (file) => this.#recordDebug(id, file));
    }
    return result;
  }

  /** The inner source's clock. */
  nowMs(): number {
    return this.#inner.nowMs();
  }

  /** Writes DIR/objects.json (call once at the end; later calls rewrite it). */
  writeIndex(): void {
    Deno.writeTextFileSync(
      `${this.#dir}/objects.json`,
      JSON.stringify(this.objects, null, 1) + "\n",
    );
  }

  #store(id: string, bytes: Uint8Array): void {
    Deno.writeFileSync(
      `${this.#dir}/objects/${id}.gz`,
      gzipSync(bytes, { level: 9 }),
    );
  }

  #recordDebug(id: string, file: ObjectFile): DebugFile | undefined {
    const found = this.#debugLocator(file);
    const rec = this.objects[id];
    if (rec === undefined) return found;
    if (found === undefined) {
      rec.debug = "";
      return undefined;
    }
    const debugId = `${id}.debug`;
    let bytes: Uint8Array;
    try {
      bytes = slimDebugFile(parseElf(found.source));
    } catch {
      // Unparsable: replay gets what the live run got, no debug file.
      rec.debug = "";
      return found;
    }
    this.#store(debugId, bytes);
    rec.debug = debugId;
    this.objects[debugId] = {
      path: found.path,
      size: bytes.length,
      debugPath: found.path,
    };
    return found;
  }
}
