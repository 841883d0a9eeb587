/**
 * A {@linkcode ProcSource} decorator that writes down every read the pipeline
 * makes (maps texts, facts, object files) so a replay can serve the same
 * bytes. Object files are stored once per identity.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { MapEntry } from "../proc/maps.ts";
import type { ObjectFile, OpenFailure } from "../proc/object_cache.ts";
import type { ProcFacts } from "../proc/process_info.ts";
import type { ProcSource } from "../proc/table.ts";
import type { RecordedProcesses } from "./format.ts";

/** Largest object file copied into a recording (bigger ones are left out, counted). */
export const MAX_RECORDED_OBJECT_BYTES = 256 * 1024 * 1024;

/** Records what passes through to `inner`. */
export class RecordingProcSource implements ProcSource {
  /** What has been read, by pid. */
  readonly procs: RecordedProcesses = {};
  /** Object files skipped as too large. */
  skippedObjects = 0;
  #inner: ProcSource;
  #dir: string;
  #written = new Set<string>();

  /**
   * @param inner The live source.
   * @param dir The recording folder (objects go to DIR/objects).
   */
  constructor(inner: ProcSource, dir: string) {
    this.#inner = inner;
    this.#dir = dir;
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

  /** Opens the object and stores its bytes once. */
  openMapped(pid: number, entry: MapEntry): ObjectFile | OpenFailure {
    const result = this.#inner.openMapped(pid, entry);
    const p = this.#proc(pid);
    const where = entry.start.toString(16);
    if (typeof result === "string") {
      p.objects[where] = result;
      return result;
    }
    const id = createHash("sha256").update(result.key).digest("hex").slice(0, 24);
    p.objects[where] = id;
    if (!this.#written.has(id)) {
      this.#written.add(id);
      const src = result.elf.source;
      if (src.size <= MAX_RECORDED_OBJECT_BYTES) {
        Deno.writeFileSync(`${this.#dir}/objects/${id}`, src.read(0, src.size));
      } else {
        this.skippedObjects++;
      }
    }
    return result;
  }

  /** The inner source's clock. */
  nowMs(): number {
    return this.#inner.nowMs();
  }
}
