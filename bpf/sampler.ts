/**
 * {@linkcode Sampler}: the high-level face of deno-bpf. Loads
 * bpf/profiler.bpf.o, attaches it to a cpu-clock event on every online CPU
 * and hands out the raw records (layout: bpf/profiler.h, decoder:
 * pipeline/record). Nothing here interprets the records.
 *
 * @module
 */
import { BpfError } from "./errors.ts";
import { encodeGoProc, type GoProcConfig } from "./go_proc.ts";
import { BpfObject, possibleCpus } from "./loader.ts";
import { onlineCpus, PerfEvents } from "./perf_event.ts";
import { LibbpfRingReader, RingReader } from "./ring_reader.ts";

export type { GoProcConfig } from "./go_proc.ts";

/** Options of {@linkcode Sampler.open}. */
export interface SamplerOptions {
  /** Samples per second per CPU (frequency mode). */
  frequency: number;
  /** Bytes of user stack copied per sample (default 16384, max 65536). */
  ustackMax?: number;
  /** Bytes of goroutine stack copied per Go sample (default 32768, max 65536). */
  gstackMax?: number;
  /** Ring buffer size; rounded up to a power of two (default from rate × record size). */
  ringBytes?: number;
  /** Processes to sample; `undefined` = the whole system. */
  pids?: readonly number[];
  /** The BPF object as bytes or a path; default bpf/profiler.bpf.o beside this module. */
  object?: Uint8Array | string;
  /** Ring buffer consumer: own mmap (default, faster) or libbpf's ring_buffer. */
  reader?: "mmap" | "libbpf";
}

/** Counter names in `enum dp_counter` order (bpf/profiler.h). */
export const COUNTER_NAMES = [
  "samples",
  "ringbufFull",
  "ustackFault",
  "kstackError",
  "idle",
  "filtered",
  "goReadError",
  "gstackFault",
] as const;

const STACK_CAP = 65536;
const PROGRAM = "dp_sample";

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

function checkStackMax(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > STACK_CAP) {
    throw new RangeError(
      `Cannot open sampler as ${name} must be an integer in [0, ${STACK_CAP}]: current value is ${v}`,
    );
  }
  return v;
}

/** Default object path: profiler.bpf.o next to this module. */
function defaultObjectPath(): string {
  return decodeURIComponent(
    new URL("./profiler.bpf.o", import.meta.url).pathname,
  );
}

/**
 * A running sampler: BPF program loaded and attached on every online CPU.
 *
 * @example Sample a process for one second (needs root)
 * ```ts ignore
 * import { Sampler } from "./sampler.ts";
 * using s = Sampler.open({ frequency: 99, pids: [Deno.pid] });
 * await new Promise((r) => setTimeout(r, 1000));
 * s.drain((rec) => console.log(rec.length));
 * console.log(s.counters());
 * ```
 */
export class Sampler implements Disposable {
  /** Whether a pid filter is active. */
  readonly filtered: boolean;
  /** Ring buffer data size in bytes. */
  readonly ringBytes: number;
  #obj: BpfObject;
  #perf: PerfEvents;
  #ring: RingReader | LibbpfRingReader;
  #closed = false;

  private constructor(
    obj: BpfObject,
    perf: PerfEvents,
    ring: RingReader | LibbpfRingReader,
    filtered: boolean,
    ringBytes: number,
  ) {
    this.#obj = obj;
    this.#perf = perf;
    this.#ring = ring;
    this.filtered = filtered;
    this.ringBytes = ringBytes;
  }

  /**
   * Loads the program and attaches it on every online CPU.
   *
   * @param options Rate, copy bounds, ring size, pid filter, object.
   * @returns The running sampler.
   * @throws {BpfError} with a message naming the object and the missing
   * privilege, BTF or kernel feature.
   * @throws {RangeError} for out-of-range options.
   */
  static open(options: SamplerOptions): Sampler {
    const ustackMax = checkStackMax("ustackMax", options.ustackMax ?? 16384);
    const gstackMax = checkStackMax("gstackMax", options.gstackMax ?? 32768);
    const cpus = onlineCpus();
    const src = options.object ?? defaultObjectPath();
    // Two seconds of full-size samples at the full rate, 4 MiB to 256 MiB:
    // userspace drains every 100 ms, but the first sight of a large binary
    // (parsing its tables) can hold the event loop for a second or more.
    const ringBytes = Math.min(
      1 << 28,
      nextPow2(Math.max(
        options.ringBytes ??
          options.frequency * cpus.length * (ustackMax + 2048) * 2,
        1 << 22,
      )),
    );
    let obj: BpfObject | undefined;
    let perf: PerfEvents | undefined;
    let ring: RingReader | LibbpfRingReader | undefined;
    try {
      if (typeof src === "string") {
        let bytes: Uint8Array;
        try {
          bytes = Deno.readFileSync(src);
        } catch (cause) {
          throw new BpfError(
            "open",
            src,
            cause instanceof Deno.errors.NotFound ? 2 : 5,
            {
              cause,
              detail: cause instanceof Deno.errors.NotFound
                ? "no such file"
                : String(cause),
            },
          );
        }
        obj = BpfObject.openBytes(bytes, src);
      } else {
        obj = BpfObject.openBytes(src, "<profiler object bytes>");
      }
      obj.setRodata("ustack_max", ustackMax);
      obj.setRodata("gstack_max", gstackMax);
      obj.setRodata("filter_pids", options.pids ? 1 : 0);
      obj.resizeMap("scratch", possibleCpus());
      obj.resizeMap("events", ringBytes);
      obj.load();
      const events = obj.map("events");
      const filtered = options.pids !== undefined;
      const s0 = { obj, filtered };
      if (options.pids) {
        for (const pid of options.pids) addPidTo(s0.obj, pid);
      }
      perf = PerfEvents.open(options.frequency, cpus);
      obj.attachPerfEvents(PROGRAM, perf.fds);
      ring = options.reader === "libbpf"
        ? new LibbpfRingReader(events.fd, "events")
        : RingReader.open(events.fd, ringBytes, "events");
      return new Sampler(obj, perf, ring, filtered, ringBytes);
    } catch (err) {
      ring?.close();
      obj?.close();
      perf?.close();
      throw err;
    }
  }

  /**
   * Adds a process to the pid filter (no-op in whole-system mode).
   *
   * @param pid Process id (tgid).
   * @throws {BpfError} when the filter map is full.
   */
  addPid(pid: number): void {
    if (this.filtered) addPidTo(this.#obj, pid);
  }

  /**
   * Removes a process from the pid filter (no-op in whole-system mode).
   *
   * @param pid Process id.
   */
  removePid(pid: number): void {
    if (this.filtered) this.#obj.map("target_pids").delete(u32(pid));
  }

  /**
   * Marks a process as Go so each of its samples carries the Go block.
   *
   * @param pid Process id.
   * @param cfg TLS offset of g and runtime struct offsets.
   * @throws {BpfError} when the map is full.
   */
  setGoProcess(pid: number, cfg: GoProcConfig): void {
    this.#obj.map("go_procs").update(u32(pid), encodeGoProc(cfg));
  }

  /**
   * Unmarks a Go process (e.g. after it exited).
   *
   * @param pid Process id.
   */
  clearGoProcess(pid: number): void {
    this.#obj.map("go_procs").delete(u32(pid));
  }

  /**
   * Consumes every record available now. Call it from a timer.
   *
   * @param onRecord Called once per record with a view into the ring buffer,
   * valid only during the call (copy what must outlive it).
   * @returns Number of records delivered.
   */
  drain(onRecord: (bytes: Uint8Array) => void): number {
    if (this.#closed) return 0;
    return this.#ring.drain(onRecord);
  }

  /**
   * Reads the loss and activity counters, summed over CPUs.
   *
   * @returns Named counters: samples, ringbufFull, ustackFault, kstackError,
   * idle, filtered, goReadError, gstackFault.
   */
  counters(): Record<string, number> {
    const v = this.#obj.perCpuCounters("counters", COUNTER_NAMES.length);
    const out: Record<string, number> = {};
    COUNTER_NAMES.forEach((n, i) => out[n] = v[i] ?? 0);
    return out;
  }

  /** Detaches, unmaps and closes everything; safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ring.close();
    this.#obj.close();
    this.#perf.close();
  }

  /** Same as {@linkcode Sampler.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

function u32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
}

function addPidTo(obj: BpfObject, pid: number): void {
  obj.map("target_pids").update(u32(pid), new Uint8Array(1));
}
