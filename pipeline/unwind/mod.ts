/**
 * Stack unwinding over copied stack memory: native frames by CFI with a frame
 * pointer fallback, signal frames, and a hook for language-aware steppers.
 *
 * @example
 * ```ts
 * import { UnwindCounters, unwindNative } from "./mod.ts";
 * const counters = new UnwindCounters();
 * unwindNative({ regs: { pc: 0, sp: 0, fp: NaN }, memory: [] }, () => undefined, { counters });
 * console.assert(counters.get("complete") === 1);
 * ```
 *
 * @module
 */
export * from "./types.ts";
export * from "./native.ts";
