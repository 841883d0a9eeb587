/**
 * perf_event_open(2) for the sampling clock: one software cpu-clock event per
 * online CPU, in frequency mode, each counting every task on its CPU. The BPF
 * program is attached to these events by `bpf/loader.ts`.
 *
 * Glossary:
 * - cpu-clock: `PERF_TYPE_SOFTWARE` / `PERF_COUNT_SW_CPU_CLOCK`, an hrtimer
 *   based event that exists on every machine, also in VMs without a PMU.
 * - frequency mode: `attr.freq = 1`, the kernel adjusts the period so the
 *   event fires about `sample_freq` times per second of CPU time.
 *
 * @module
 */
import { BpfError } from "./errors.ts";
import { closeFd, errno, libc, SYS_PERF_EVENT_OPEN } from "./ffi/libc.ts";

const PERF_TYPE_SOFTWARE = 1;
const PERF_COUNT_SW_CPU_CLOCK = 0;
const PERF_ATTR_SIZE = 128; // PERF_ATTR_SIZE_VER7
const ATTR_FLAG_DISABLED = 1n << 0n;
const ATTR_FLAG_FREQ = 1n << 10n;
const PERF_FLAG_FD_CLOEXEC = 8n;

/**
 * Parses a kernel CPU list such as `0-3,5,7-8`.
 *
 * @param text Contents of /sys/devices/system/cpu/online.
 * @returns The CPU numbers, ascending.
 * @throws {SyntaxError} on text that is not a CPU list.
 *
 * @example Ranges and singles
 * ```ts
 * import { parseCpuList } from "./perf_event.ts";
 * console.assert(parseCpuList("0-2,4\n").join() === "0,1,2,4");
 * ```
 */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(",")) {
    if (part === "") continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new SyntaxError(`Cannot parse CPU list: bad part "${part}"`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    for (let c = a; c <= b && c - a < 65536; c++) out.push(c);
  }
  return out.sort((x, y) => x - y);
}

/**
 * The online CPUs, from /sys/devices/system/cpu/online.
 *
 * @returns CPU numbers, ascending.
 */
export function onlineCpus(): number[] {
  return parseCpuList(Deno.readTextFileSync("/sys/devices/system/cpu/online"));
}

/**
 * Opened cpu-clock events, one per CPU, created disabled (libbpf enables each
 * when it attaches the program). Close to release the descriptors.
 */
export class PerfEvents implements Disposable {
  /** Descriptor per CPU, same order as {@linkcode PerfEvents.cpus}. */
  readonly fds: readonly number[];
  /** The CPUs the events were opened on. */
  readonly cpus: readonly number[];
  #closed = false;

  private constructor(fds: number[], cpus: number[]) {
    this.fds = fds;
    this.cpus = cpus;
  }

  /**
   * Opens a cpu-clock event on each CPU.
   *
   * @param frequency Samples per second per CPU (freq mode), ≥ 1.
   * @param cpus CPUs to open on; default all online CPUs.
   * @returns The open events.
   * @throws {BpfError} naming the CPU and explaining the errno (EACCES when
   * kernel.perf_event_paranoid forbids it to this user).
   * @throws {RangeError} for a frequency that is not a positive integer.
   */
  static open(
    frequency: number,
    cpus: readonly number[] = onlineCpus(),
  ): PerfEvents {
    if (!Number.isInteger(frequency) || frequency < 1) {
      throw new RangeError(
        `Cannot open perf events as frequency must be a positive integer: current value is ${frequency}`,
      );
    }
    const attr = new Uint8Array(PERF_ATTR_SIZE);
    const v = new DataView(attr.buffer);
    v.setUint32(0, PERF_TYPE_SOFTWARE, true);
    v.setUint32(4, PERF_ATTR_SIZE, true);
    v.setBigUint64(8, BigInt(PERF_COUNT_SW_CPU_CLOCK), true);
    v.setBigUint64(16, BigInt(frequency), true); // sample_freq (union with period)
    v.setBigUint64(40, ATTR_FLAG_DISABLED | ATTR_FLAG_FREQ, true);
    const fds: number[] = [];
    for (const cpu of cpus) {
      const fd = Number(
        libc().perf_event_open(
          BigInt(SYS_PERF_EVENT_OPEN),
          attr,
          -1,
          cpu,
          -1,
          PERF_FLAG_FD_CLOEXEC,
        ),
      );
      if (fd < 0) {
        const e = errno();
        for (const f of fds) closeFd(f);
        throw new BpfError(`perf_event_open cpu ${cpu}`, "cpu-clock", e);
      }
      fds.push(fd);
    }
    return new PerfEvents(fds, [...cpus]);
  }

  /** Closes every descriptor; safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const fd of this.fds) closeFd(fd);
  }

  /** Same as {@linkcode PerfEvents.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
