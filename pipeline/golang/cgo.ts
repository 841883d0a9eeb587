/**
 * The two cgo stack crossings of the Go stepper (amd64), with a counter per
 * outcome. See shared/reference/go-runtime.md §1 and §6 and docs/cgo.md.
 *
 * Glossary:
 * - **g0 frame of asmcgocall**: the few words asmcgocall pushes on the
 *   system stack before it calls C: the goroutine it left (`oldg`, 0 on the
 *   nosave path) and `depth = oldg.stack.hi − SP` (the raw SP on the nosave
 *   path). Go ≥ 1.22 keeps them at `8(S)`/`0(S)`, Go ≤ 1.21 at `48(S)`/`40(S)`,
 *   where S is the SP at the C call (the CFA of the C callee).
 * - **frame base**: asmcgocall has a BP frame from Go 1.21 on (`[SPb]` saved
 *   BP, `[SPb+8]` return address into runtime.cgocall) and none before
 *   (`[SPb]` return address). Read from pcsp at entry + 1, not the version.
 * - **syscall crossing**: `curg.syscallpc/sp/bp`, recorded by entersyscall in
 *   runtime.cgocall, name the innermost cgocall frame (the runtime's own
 *   profiler starts there). Preferred for the innermost crossing after the
 *   checks: curg.m == m, sp inside curg's stack, the copy covers it, and it
 *   agrees with the g0 frame when that is readable.
 * - **cgocallback**: C → Go. Its goroutine-side frame mirrors its g0 frame;
 *   `g0.sched.sp` is the innermost cgocallback's g0 frame, whose word at
 *   `0(SP)` holds the previous `g0.sched.sp` (nested callbacks).
 *
 * @module
 */
import type { Registers, StackMemory, StepResult } from "../unwind/types.ts";
import type { GoSampleState } from "./unwind.ts";

/** Outcome names counted by {@linkcode GoTransitionCounters}. */
export const GoTransition = {
  /** asmcgocall crossed to the cgocall frame from curg.syscallpc/sp. */
  crossedSyscall: "asmcgocall.crossed.syscall",
  /** asmcgocall crossed through its g0 frame (saved g and depth). */
  crossedFrame: "asmcgocall.crossed.g0frame",
  /** asmcgocall called on the system stack (nosave path): no switch. */
  nosave: "asmcgocall.nosave",
  /** syscallsp disagreed with the g0 frame; the g0 frame was used. */
  syscallMismatch: "asmcgocall.syscallMismatch",
  /** The sample has no g data (process not registered, read fault). */
  noGData: "asmcgocall.noGData",
  /** g/m/curg words or the g0 frame do not agree (curg.m ≠ m, …). */
  inconsistent: "asmcgocall.inconsistent",
  /** The goroutine stack copy does not cover the resume point. */
  notCopied: "asmcgocall.stackNotCopied",
  /** cgocallback crossed back to the C callers on the system stack. */
  callbackCrossed: "cgocallback.crossed",
  /** cgocallback with no usable g0.sched.sp or system stack copy. */
  callbackNoG0: "cgocallback.noSystemStack",
  /** A C-created thread (extra M) back in pure C after a callback. */
  extraMPureC: "extraM.pureC",
  /** vDSO caller continued at m.vdsoPC/vdsoSP on the goroutine stack. */
  vdsoCrossed: "vdso.crossed",
  /** vDSO caller continued at m.vdsoPC/vdsoSP on the same (g0/gsignal) stack. */
  vdsoSameStack: "vdso.sameStack",
  /** vDSO caller with m.vdsoSP 0 or not delivered (v1 record, old Go). */
  vdsoNoSp: "vdso.noVdsoSp",
  /** m.vdsoSP on curg's stack but curg.m ≠ m, or m.vdsoPC is 0. */
  vdsoInconsistent: "vdso.inconsistent",
  /** The copied stacks do not cover m.vdsoSP. */
  vdsoNotCopied: "vdso.stackNotCopied",
} as const;

/** Per-outcome counters of the cgo crossings (and goroutine label reads). */
export class GoTransitionCounters {
  #counts = new Map<string, number>();
  /**
   * Adds one.
   *
   * @param name Outcome, usually one of {@linkcode GoTransition}.
   */
  add(name: string): void {
    this.#counts.set(name, (this.#counts.get(name) ?? 0) + 1);
  }
  /**
   * The count of one outcome.
   *
   * @param name Outcome.
   * @returns The count, 0 when never seen.
   */
  get(name: string): number {
    return this.#counts.get(name) ?? 0;
  }
  /**
   * All counts as a plain object.
   *
   * @returns Outcome → count.
   *
   * @example Count and read back
   * ```ts
   * import { GoTransition, GoTransitionCounters } from "./cgo.ts";
   * const c = new GoTransitionCounters();
   * c.add(GoTransition.nosave);
   * console.assert(c.snapshot()["asmcgocall.nosave"] === 1);
   * ```
   */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }
}

/** Per-sample state of the crossings (a sample may cross several times). */
export interface CgoCursor {
  /** The syscall crossing names the innermost cgocall only: used once. */
  syscallUsed: boolean;
  /** g0 SP of the next cgocallback frame outward (starts at g0.sched.sp). */
  g0Sp: number;
}

/**
 * A fresh cursor for one sample.
 *
 * @param state The sample's g data.
 * @returns The cursor.
 */
export function newCgoCursor(state: GoSampleState | undefined): CgoCursor {
  return { syscallUsed: false, g0Sp: state?.g0SchedSp ?? 0 };
}

/** What {@linkcode asmcgocallCaller} needs about the binary and sample. */
export interface AsmcgocallInput {
  /** The sample's g data. */
  readonly state: GoSampleState | undefined;
  /** The cursor of the sample. */
  readonly cursor: CgoCursor;
  /** Go minor version (g0 frame layout); 0 = unknown, taken as ≥ 1.22. */
  readonly minor: number;
  /** Bytes asmcgocall pushes before it saves SP: 8 with a BP frame, else 0. */
  readonly frameBase: number;
  /** Counters, when counting. */
  readonly counters?: GoTransitionCounters | undefined;
}

function err(reason: string): StepResult {
  return { kind: "error", reason };
}

/**
 * g/m/curg agree. The thread runs on g0 (a C leaf) or, with the system stack
 * copy of a sample in Go code inside a callback, on curg itself.
 */
function consistent(s: GoSampleState): boolean {
  return s.g !== 0 && (s.g === s.g0 || s.g === s.curg) && s.curg !== 0 &&
    s.curgM === s.m && s.stackHi > s.stackLo;
}

/**
 * The caller of runtime.asmcgocall reached from the C function it called
 * (regs.sp = S, the SP at the C call): the cgocall frame on the goroutine
 * stack (switch path) or the caller on the same system stack (nosave).
 *
 * @param input Binary layout facts, the sample's g data and cursor.
 * @param regs Registers at asmcgocall (pc = return address from C).
 * @param memory The copied stacks.
 * @param read Reads a u64 from `memory`, -1 when not copied.
 * @returns The caller's registers or an error with a counted reason.
 */
export function asmcgocallCaller(
  input: AsmcgocallInput,
  regs: Readonly<Registers>,
  memory: StackMemory,
  read: (memory: StackMemory, addr: number) => number,
): StepResult {
  const { state: s, cursor, counters, frameBase } = input;
  const S = regs.sp;
  const newLayout = input.minor === 0 || input.minor >= 22;
  const oldg = read(memory, S + (newLayout ? 8 : 48));
  const depth = read(memory, S + (newLayout ? 0 : 40));
  if (oldg === 0 && depth > S) {
    // nosave: already on a system stack; depth holds the original SP.
    const ra = read(memory, depth + frameBase);
    if (ra <= 0) {
      counters?.add(GoTransition.inconsistent);
      return err("go: asmcgocall nosave frame unreadable");
    }
    counters?.add(GoTransition.nosave);
    const fp = frameBase > 0 ? read(memory, depth) : -1;
    return {
      kind: "caller",
      regs: { pc: ra, sp: depth + frameBase + 8, fp: fp > 0 ? fp : NaN },
    };
  }
  if (s === undefined) {
    counters?.add(GoTransition.noGData);
    return err("go: asmcgocall without g data");
  }
  if (!consistent(s)) {
    counters?.add(GoTransition.inconsistent);
    return err("go: asmcgocall with inconsistent g data");
  }
  const inStack = (sp: number) => sp >= s.stackLo && sp < s.stackHi;
  // The g0 frame's view: the cgocall SP it will return to.
  let frameSp = -1;
  if (oldg === s.curg && depth > 0) {
    const spb = s.stackHi - depth;
    if (inStack(spb)) frameSp = spb + frameBase + 8;
  }
  if (!cursor.syscallUsed && s.syscallPc !== 0 && inStack(s.syscallSp)) {
    cursor.syscallUsed = true;
    if (frameSp < 0 || frameSp === s.syscallSp) {
      if (read(memory, s.syscallSp) < 0) {
        counters?.add(GoTransition.notCopied);
        return err("go: goroutine stack not copied");
      }
      counters?.add(GoTransition.crossedSyscall);
      return {
        kind: "caller",
        regs: { pc: s.syscallPc, sp: s.syscallSp, fp: s.syscallBp || NaN },
      };
    }
    counters?.add(GoTransition.syscallMismatch);
  }
  cursor.syscallUsed = true;
  if (frameSp < 0) {
    counters?.add(GoTransition.inconsistent);
    return err(
      oldg === s.curg
        ? "go: asmcgocall depth outside goroutine stack"
        : "go: asmcgocall g0 frame does not name curg",
    );
  }
  const ra = read(memory, frameSp - 8);
  if (ra < 0) {
    counters?.add(GoTransition.notCopied);
    return err("go: goroutine stack not copied");
  }
  const fp = frameBase > 0 ? read(memory, frameSp - 16) : -1;
  counters?.add(GoTransition.crossedFrame);
  return {
    kind: "caller",
    regs: { pc: ra, sp: frameSp, fp: fp > 0 ? fp : NaN },
  };
}

/**
 * The system-stack SP of the cgocallback frame whose goroutine-side twin
 * the unwinder just reached, and moves the cursor to the next one outward.
 *
 * @param input The sample's g data, cursor and counters.
 * @param memory The copied stacks.
 * @param read Reads a u64 from `memory`, -1 when not copied.
 * @returns The g0 SP, or an error reason (counted).
 */
export function cgocallbackG0Sp(
  input: Pick<AsmcgocallInput, "state" | "cursor" | "counters">,
  memory: StackMemory,
  read: (memory: StackMemory, addr: number) => number,
): number | string {
  const sp = input.cursor.g0Sp;
  if (sp === 0 || read(memory, sp) < 0) {
    input.counters?.add(GoTransition.callbackNoG0);
    return "go: cgocallback without system stack copy";
  }
  // 0(SP) of cgocallback's g0 frame: the g0.sched.sp it replaced.
  const prev = read(memory, sp);
  input.cursor.g0Sp = prev > sp ? prev : 0;
  input.counters?.add(GoTransition.callbackCrossed);
  return sp;
}
