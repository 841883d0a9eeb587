/**
 * The live {@linkcode ProcSource}: `/proc` of the host. Files are opened
 * through `/proc/PID/map_files/START-END` first (the exact inode the process
 * mapped, even when deleted, replaced, or in another mount namespace), then
 * `/proc/PID/root/PATH` (containers), then the plain path. The vDSO has no
 * file: its image is read from the process's memory.
 *
 * @module
 */
import { BytesSource, FileSource } from "../binary/mod.ts";
import type { MapEntry } from "./maps.ts";
import {
  identityOf,
  type ObjectCache,
  type ObjectFile,
  type OpenFailure,
} from "./object_cache.ts";
import { type ProcFacts, readProcFacts } from "./process_info.ts";
import type { ProcSource } from "./table.ts";

/** Largest vDSO image we read (it is a few pages). */
const MAX_VDSO_BYTES = 64 * 1024;

/** Reads processes of the running host. */
export class LiveProcSource implements ProcSource {
  #files: ObjectCache;
  #procRoot: string;
  #kernelRelease: string;

  /**
   * @param files The shared object file cache.
   * @param procRoot Where procfs is mounted (default `/proc`).
   */
  constructor(files: ObjectCache, procRoot = "/proc") {
    this.#files = files;
    this.#procRoot = procRoot;
    this.#kernelRelease = Deno.osRelease();
  }

  /** Reads `/proc/PID/maps`. */
  readMaps(pid: number): string | undefined {
    try {
      return Deno.readTextFileSync(`${this.#procRoot}/${pid}/maps`);
    } catch {
      return undefined;
    }
  }

  /** Reads `/proc/PID` facts. */
  readFacts(pid: number): ProcFacts {
    return readProcFacts(pid, this.#procRoot);
  }

  /** Opens the file behind an executable mapping. */
  openMapped(pid: number, entry: MapEntry): ObjectFile | OpenFailure {
    if (entry.path === "[vdso]") return this.#openVdso(pid, entry);
    if (entry.path === "" || entry.path.startsWith("[")) return "missing";
    const candidates = [
      `${this.#procRoot}/${pid}/map_files/${entry.start.toString(16)}-${
        entry.end.toString(16)
      }`,
      `${this.#procRoot}/${pid}/root${entry.path}`,
      entry.path,
    ];
    let last: OpenFailure = "missing";
    for (const path of candidates) {
      let info: Deno.FileInfo;
      try {
        info = Deno.statSync(path);
      } catch {
        continue;
      }
      if (!info.isFile) continue;
      const result = this.#files.get(identityOf(info), () => ({
        source: new FileSource(path),
        path: entry.path,
      }));
      if (typeof result === "object") return result;
      last = result;
    }
    return last;
  }

  /** Monotonic milliseconds. */
  nowMs(): number {
    return performance.now();
  }

  #openVdso(pid: number, entry: MapEntry): ObjectFile | OpenFailure {
    const size = entry.end - entry.start;
    if (size <= 0 || size > MAX_VDSO_BYTES) return "missing";
    // Every process of one kernel maps the same vDSO image.
    const key = `vdso:${this.#kernelRelease}:${size}`;
    return this.#files.get(key, () => {
      const bytes = new Uint8Array(size);
      const mem = Deno.openSync(`${this.#procRoot}/${pid}/mem`, { read: true });
      try {
        mem.seekSync(entry.start, Deno.SeekMode.Start);
        let done = 0;
        while (done < size) {
          const n = mem.readSync(bytes.subarray(done));
          if (n === null || n === 0) throw new Error("short read of the vDSO");
          done += n;
        }
      } finally {
        mem.close();
      }
      return {
        source: new BytesSource(bytes, `[vdso] of pid ${pid}`),
        path: "[vdso]",
      };
    });
  }
}
