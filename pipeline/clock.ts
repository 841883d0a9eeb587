/**
 * Converts the kernel's `bpf_ktime_get_ns` (CLOCK_MONOTONIC) to Unix time.
 * The offset between the two clocks is measured once through libc's
 * `clock_gettime`; it only drifts when the wall clock is stepped, which a
 * profile window tolerates.
 *
 * @module
 */

const CLOCK_REALTIME = 0;
const CLOCK_MONOTONIC = 1;

let libc:
  | Deno.DynamicLibrary<
    { clock_gettime: { parameters: ["i32", "buffer"]; result: "i32" } }
  >
  | undefined;

function clockNs(clock: number): bigint {
  libc ??= Deno.dlopen("libc.so.6", {
    // int clock_gettime(clockid_t clockid, struct timespec *tp);
    clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  });
  const ts = new BigInt64Array(2);
  if (libc.symbols.clock_gettime(clock, ts) !== 0) {
    throw new Error(`Cannot read clock ${clock}: clock_gettime failed`);
  }
  return ts[0]! * 1_000_000_000n + ts[1]!;
}

/** CLOCK_MONOTONIC now, in nanoseconds (the clock of `bpf_ktime_get_ns`). */
export function monotonicNs(): bigint {
  return clockNs(CLOCK_MONOTONIC);
}

/** CLOCK_REALTIME now, in Unix nanoseconds. */
export function realtimeNs(): bigint {
  return clockNs(CLOCK_REALTIME);
}

/**
 * Maps monotonic kernel timestamps to Unix nanoseconds.
 *
 * @example
 * ```ts
 * import { KtimeClock, monotonicNs } from "./clock.ts";
 * const clock = KtimeClock.measure();
 * const unix = clock.toUnixNano(Number(monotonicNs()));
 * console.assert(unix > 1_600_000_000_000_000_000n);
 * ```
 */
export class KtimeClock {
  /** Unix ns minus monotonic ns. */
  readonly offsetNs: bigint;
  /**
   * @param offsetNs Unix ns minus monotonic ns.
   */
  constructor(offsetNs: bigint) {
    this.offsetNs = offsetNs;
  }
  /** Measures the offset now (the midpoint of two monotonic reads). */
  static measure(): KtimeClock {
    const a = monotonicNs();
    const r = realtimeNs();
    const b = monotonicNs();
    return new KtimeClock(r - (a + b) / 2n);
  }
  /**
   * @param ktimeNs A `bpf_ktime_get_ns` value (exact below 2^53 ns, 104 days of uptime).
   * @returns The same instant in Unix nanoseconds.
   */
  toUnixNano(ktimeNs: number): bigint {
    return BigInt(Math.trunc(ktimeNs)) + this.offsetNs;
  }
}
