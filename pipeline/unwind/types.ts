/**
 * Types shared by the unwinder, the process layer that resolves pcs, and
 * language-aware steppers (Go).
 *
 * @module
 */
import type { UnwindRules } from "../dwarf/mod.ts";

/**
 * The register file during an unwind. `pc`, `sp`, `fp` (and `lr` on arm64)
 * are what a sample carries; `extra` holds other registers by DWARF number
 * when something restored them (a signal frame), else it is empty.
 */
export interface Registers {
  /** Program counter. */
  pc: number;
  /** Stack pointer. */
  sp: number;
  /** Frame pointer (rbp / x29); NaN when unknown. */
  fp: number;
  /** Link register (arm64 x30); absent or NaN when unknown. */
  lr?: number;
}

/** One copied range of the target's memory. */
export interface MemoryRange {
  /** Address of `bytes[0]`. */
  readonly base: number;
  /** The copy. */
  readonly bytes: Uint8Array;
}

/**
 * What the unwinder can read: the user stack copy from sp upward, and
 * possibly a goroutine stack copy. Reads outside all ranges stop the unwind
 * with `stack copy truncated`.
 */
export type StackMemory = readonly MemoryRange[];

/** The result of a language-aware step (see {@linkcode FrameInfo.step}). */
export type StepResult =
  /** The caller's registers; `exact` when `pc` is not a return address (e.g. an interrupted pc). */
  | {
    readonly kind: "caller";
    readonly regs: Registers;
    readonly exact?: boolean;
  }
  /** The stack ends here (runtime.goexit, thread start): a complete root. */
  | { readonly kind: "root" }
  /** The stepper cannot continue; `reason` becomes `[unwind: reason]`. */
  | { readonly kind: "error"; readonly reason: string };

/**
 * A stepper that replaces CFI for a pc range, e.g. Go's pcsp-based unwinder
 * for pcs inside Go text (it also switches stacks at cgo/systemstack edges by
 * returning an `sp` in another {@linkcode MemoryRange}).
 *
 * @param regs Registers of the current frame (do not keep a reference).
 * @param memory The copied stacks.
 * @param lookupPc `regs.pc` for the innermost/interrupted frame, `regs.pc - 1` for return addresses.
 * @returns How to continue.
 */
export type FrameStepper = (
  regs: Readonly<Registers>,
  memory: StackMemory,
  lookupPc: number,
) => StepResult;

/** What the process layer knows about the code at a pc. */
export interface FrameInfo {
  /** CFI of the mapped file; absent → frame pointer fallback. */
  readonly table?: UnwindRules | undefined;
  /** Load bias: `vaddr = pc - bias`. */
  readonly bias: number;
  /**
   * Hints from symbols when CFI is silent: `signal` = a sigreturn trampoline
   * (amd64 `__restore_rt`), `root` = a known outermost function (`_start`,
   * `clone`, `clone3`, `start_thread`).
   */
  readonly kind?: "signal" | "root";
  /** When present, used instead of CFI for this frame. */
  readonly step?: FrameStepper;
}

/**
 * Resolves a pc to its code. Called with the lookup pc (return addresses
 * already minus one) so a call at the very end of a mapping resolves to it.
 */
export type FrameResolver = (pc: number) => FrameInfo | undefined;

/** Why an unwind ended. `complete` is a known root; everything else is an error reason. */
export type StopReason =
  | "complete"
  | "stack copy truncated"
  | "no unwind info"
  | "pc not mapped"
  | "bad cfa"
  | "loop"
  | "unsupported cfi"
  | "max frames"
  | "bad return address"
  | string;

/** Result of one unwind. */
export interface UnwindResult {
  /** Pcs innermost first; all but the innermost (and `exact` ones) are return addresses. */
  readonly frames: number[];
  /**
   * Indices (> 0) of frames whose pc is exact rather than a return address:
   * the signal trampoline and the interrupted pc after it. Symbolize those
   * at pc, all other non-innermost frames at pc − 1.
   */
  readonly exact: number[];
  /** Reason the stack is incomplete; absent when it reached a root. */
  readonly error?: string;
}

/** Per-reason counters of unwind outcomes. */
export class UnwindCounters {
  #counts = new Map<string, number>();
  /** Adds one to `reason`. */
  add(reason: string): void {
    this.#counts.set(reason, (this.#counts.get(reason) ?? 0) + 1);
  }
  /** The count of `reason`. */
  get(reason: string): number {
    return this.#counts.get(reason) ?? 0;
  }
  /** All counts. */
  entries(): [string, number][] {
    return [...this.#counts.entries()];
  }
}
