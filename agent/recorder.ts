/**
 * Writes a recording (format: pipeline/recording/format.ts) during a live
 * run: raw records as they are drained, the process reads through a
 * {@linkcode RecordingProcSource}, and at the end the metadata and the kernel
 * symbols the recorded kernel stacks hit.
 *
 * @module
 */
import type { KernelSymbols } from "../pipeline/symbolize/kallsyms.ts";
import {
  RECORDING_FORMAT,
  RECORDING_VERSION,
  type RecordingMeta,
  RecordingProcSource,
} from "../pipeline/recording/mod.ts";
import type { ProcSource } from "../pipeline/proc/mod.ts";
import { decodeRecord } from "../pipeline/record/mod.ts";

/** Records of one run, written as they come. */
export class Recorder {
  /** The folder. */
  readonly dir: string;
  /** The recording decorator to give the process table. */
  readonly source: RecordingProcSource;
  #out: Deno.FsFile;
  #kernelAddresses = new Set<bigint>();
  #windowEnds: bigint[] = [];
  #windowRecords: number[] = [];
  #records = 0;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;

  /**
   * @param dir Folder to create.
   * @param live The live process source to wrap.
   */
  constructor(dir: string, live: ProcSource) {
    this.dir = dir;
    Deno.mkdirSync(dir, { recursive: true });
    this.source = new RecordingProcSource(live, dir);
    this.#out = Deno.openSync(`${dir}/records.bin`, {
      write: true,
      create: true,
      truncate: true,
    });
  }

  /**
   * Copies one raw record (framed like the ring buffer).
   *
   * @param bytes The record; only read during the call.
   */
  record(bytes: Uint8Array): void {
    const framed = new Uint8Array((8 + bytes.length + 7) & ~7);
    new DataView(framed.buffer).setUint32(0, bytes.length, true);
    framed.set(bytes, 8);
    this.#records++;
    this.#pending.push(framed);
    this.#pendingBytes += framed.length;
    try {
      const s = decodeRecord(bytes);
      for (const a of s.kstack) this.#kernelAddresses.add(a);
    } catch {
      // undecodable records are recorded as they are; replay counts them
    }
    if (this.#pendingBytes > 1 << 20) this.#flush();
  }

  /**
   * Notes a window boundary so replay closes windows at the same instants.
   *
   * @param endUnixNano End of the window.
   */
  noteWindowEnd(endUnixNano: bigint): void {
    this.#windowEnds.push(endUnixNano);
    this.#windowRecords.push(this.#records);
  }

  #flush(): void {
    for (const chunk of this.#pending) {
      let done = 0;
      while (done < chunk.length) {
        done += this.#out.writeSync(chunk.subarray(done));
      }
    }
    this.#pending = [];
    this.#pendingBytes = 0;
  }

  /**
   * Writes the metadata, process reads, object index and kernel symbols, and
   * closes.
   *
   * @param meta Run facts; `unwind`, `kernelCounters` and `pids` are optional
   *   and let a replay default to the live run's mode and print its counters.
   * @param kernel Kernel symbols of the live run.
   */
  finish(
    meta: {
      frequency: number;
      clockOffsetNs: bigint;
      startUnixNano: bigint;
      unwind?: string;
      kernelCounters?: Record<string, number>;
      pids?: readonly number[];
    },
    kernel: KernelSymbols,
  ): void {
    this.#flush();
    this.#out.close();
    const m: RecordingMeta = {
      format: RECORDING_FORMAT,
      version: RECORDING_VERSION,
      frequency: meta.frequency,
      clockOffsetNs: meta.clockOffsetNs.toString(),
      startUnixNano: meta.startUnixNano.toString(),
      windowEnds: this.#windowEnds.map(String),
      windowRecords: this.#windowRecords,
      ...(meta.unwind === undefined ? {} : { unwind: meta.unwind }),
      ...(meta.kernelCounters === undefined
        ? {}
        : { kernelCounters: meta.kernelCounters }),
      ...(meta.pids === undefined ? {} : { pids: [...meta.pids] }),
      arch: Deno.build.arch,
      kernel: Deno.osRelease(),
    };
    Deno.writeTextFileSync(
      `${this.dir}/meta.json`,
      JSON.stringify(m, null, 1) + "\n",
    );
    Deno.writeTextFileSync(
      `${this.dir}/procs.json`,
      JSON.stringify(this.source.procs) + "\n",
    );
    this.source.writeIndex();
    const lines = new Map<bigint, string>();
    for (const a of this.#kernelAddresses) {
      const sym = kernel.lookup(a);
      if (sym === undefined) continue;
      const suffix = sym.module === undefined ? "" : `\t[${sym.module}]`;
      lines.set(sym.start, `${sym.start.toString(16)} T ${sym.name}${suffix}`);
    }
    Deno.writeTextFileSync(
      `${this.dir}/kallsyms`,
      [...lines.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map((e) =>
        e[1]
      ).join("\n") + "\n",
    );
  }
}
