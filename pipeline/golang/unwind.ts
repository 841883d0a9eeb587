/**
 * The Go frame stepper: one step from a Go frame to its caller using the
 * pcsp table (not frame pointers), with Go's own rules for the ends of a
 * stack and the stack switches of the runtime.
 *
 * - amd64: return address = `*(sp + Δ)`, caller sp = `sp + Δ + 8`.
 * - arm64: return address = `*(sp)` when Δ > 0, else the link register;
 *   caller sp = `sp + Δ`.
 * - TopFrame functions (runtime.goexit, mstart, rt0_go) are complete roots.
 * - SPWrite functions other than the switch points end the stack with a
 *   reason when they are not the innermost frame (their SP is not described
 *   by pcsp).
 * - On the system stack (g == m.g0) with a consistent curg (curg.m == m),
 *   runtime.systemstack and runtime.morestack continue on the goroutine at
 *   `curg.sched` (as the runtime's own unwinder does), runtime.mcall at its
 *   caller saved in `curg.sched`, and runtime.asmcgocall at the cgocall frame
 *   saved in `curg.syscallpc/sp`. Without that g data, or when the goroutine
 *   stack was not copied, the step ends with an explicit reason.
 * - amd64 cgo: runtime.asmcgocall returned to from C crosses through its g0
 *   frame or curg.syscallpc/sp (nosave path included), and the goroutine
 *   side of runtime.cgocallback continues on its system-stack twin so the C
 *   callers of a callback appear; see cgo.ts and docs/cgo.md.
 * - On g0 with no current goroutine (the scheduler after `dropg`, reached
 *   through mcall or morestack → newstack → gopreempt_m), mcall/morestack is
 *   the root of the scheduler's stack: its fn never returns, and Go's own
 *   profiler ends those stacks there too.
 * - The vDSO callers (time.now, runtime.nanotime1, …; amd64) move SP to the
 *   g0 stack without switching g after saving their caller's SP and return
 *   PC in m.vdsoSP/m.vdsoPC: the step continues there (as Go's sigprof
 *   does) when the kernel side delivered them and they check out (curg.m ==
 *   m and inside curg's stack, or above SP on the same stack, and copied);
 *   otherwise the stack ends with `go: vDSO call on g0 stack from NAME`.
 *
 * @module
 */
import type {
  FrameStepper,
  Registers,
  StackMemory,
  StepResult,
} from "../unwind/types.ts";
import {
  asmcgocallCaller,
  cgocallbackG0Sp,
  type CgoCursor,
  GoTransition,
  type GoTransitionCounters,
  newCgoCursor,
} from "./cgo.ts";
import {
  FUNC_FLAG_SPWRITE,
  FUNC_FLAG_TOPFRAME,
  type GoPclntab,
  GoSpecial,
} from "./pclntab.ts";

/**
 * The g/m words of a sample a stack switch needs (a subset of the record
 * decoder's `GoBlock`, which can be passed as is). Addresses are runtime
 * addresses; 0 = not read.
 */
export interface GoSampleState {
  /** g from TLS. */
  readonly g: number;
  /** g.m */
  readonly m: number;
  /** m.g0 */
  readonly g0: number;
  /** m.curg */
  readonly curg: number;
  /** curg.m */
  readonly curgM: number;
  /** curg.stack.lo */
  readonly stackLo: number;
  /** curg.stack.hi */
  readonly stackHi: number;
  /** curg.sched.pc */
  readonly schedPc: number;
  /** curg.sched.sp */
  readonly schedSp: number;
  /** curg.sched.bp */
  readonly schedBp: number;
  /** curg.syscallpc */
  readonly syscallPc: number;
  /** curg.syscallsp */
  readonly syscallSp: number;
  /** curg.syscallbp (0 before Go 1.23) */
  readonly syscallBp?: number;
  /** g0.sched.sp: the innermost cgocallback's system-stack frame. */
  readonly g0SchedSp?: number;
  /** m.vdsoSP: the vDSO caller's caller SP, 0 when not in a vDSO call. */
  readonly vdsoSp?: number;
  /** m.vdsoPC: return PC into that caller. */
  readonly vdsoPc?: number;
}

/** Everything one Go step needs besides the registers and memory. */
export interface GoStepContext {
  /** The binary's pclntab. */
  readonly pclntab: GoPclntab;
  /** Load bias: link-time address = runtime pc − bias. */
  readonly bias: number;
  /** Target architecture. */
  readonly arch: "amd64" | "arm64";
  /** g data of the sample, when the kernel side delivered it. */
  readonly state?: GoSampleState | undefined;
  /** Go minor version (cgo frame layouts); absent = unknown (≥ 1.22). */
  readonly minor?: number | undefined;
  /** Per-sample cgo crossing state ({@linkcode makeGoStepper} makes one). */
  readonly cgo?: CgoCursor | undefined;
  /** Outcome counters of the cgo crossings. */
  readonly transitions?: GoTransitionCounters | undefined;
}

/** Reads a little-endian u64 from the copied ranges; -1 when not copied. */
export function readStackWord(memory: StackMemory, addr: number): number {
  for (let i = 0; i < memory.length; i++) {
    const r = memory[i]!;
    const off = addr - r.base;
    if (off >= 0 && off + 8 <= r.bytes.length) {
      const b = r.bytes;
      const lo = (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) |
        (b[off + 3]! << 24)) >>> 0;
      const hi = (b[off + 4]! | (b[off + 5]! << 8) | (b[off + 6]! << 16) |
        (b[off + 7]! << 24)) >>> 0;
      if (hi > 0x1fffff) return -1;
      return hi * 0x100000000 + lo;
    }
  }
  return -1;
}

function err(reason: string): StepResult {
  return { kind: "error", reason };
}

/** True when the thread runs on g0 with a consistent current goroutine. */
function onSystemStack(s: GoSampleState | undefined): boolean {
  return s !== undefined && s.g !== 0 && s.g === s.g0 && s.curg !== 0 &&
    s.curgM === s.m;
}

/**
 * True when the thread runs on g0 with no current goroutine: the scheduler
 * after `dropg` (mcall(park_m), newstack → gopreempt_m → schedule).
 */
function schedulerRoot(s: GoSampleState): boolean {
  return s.g !== 0 && s.g === s.g0 && s.curg === 0;
}

/** Assembly functions that call the vDSO on the g0 stack (amd64, arm64). */
const VDSO_CALLERS: ReadonlySet<string> = new Set([
  "time.now",
  "runtime.nanotime1",
  "runtime.walltime",
  "runtime.walltime1",
  "runtime.vgetrandom1",
]);

function inGoroutineStack(s: GoSampleState, sp: number): boolean {
  return sp >= s.stackLo && sp < s.stackHi;
}

/**
 * One pcsp step from the frame at `regs` (or the stack switch Go's runtime
 * makes at that frame).
 *
 * @param ctx The binary and the sample's g data.
 * @param regs Registers of the frame (runtime addresses).
 * @param memory Copied stacks (thread stack and goroutine stack).
 * @param lookupPc `regs.pc` for the innermost frame, `regs.pc − 1` for a
 * return address.
 * @returns The caller's registers, `root` at a TopFrame function, or an
 * error with the reason.
 *
 * @example Step from a frame of a Go binary
 * ```ts ignore
 * import { goStep } from "./unwind.ts";
 * const r = goStep({ pclntab, bias: 0, arch: "amd64" }, { pc, sp, fp: NaN }, memory, pc);
 * ```
 */
export function goStep(
  ctx: GoStepContext,
  regs: Readonly<Registers>,
  memory: StackMemory,
  lookupPc: number,
): StepResult {
  const tab = ctx.pclntab;
  const vpc = lookupPc - ctx.bias;
  const fi = tab.findFunc(vpc);
  if (fi < 0) return err("go: pc not in pclntab");
  const innermost = lookupPc === regs.pc;
  const flag = tab.funcFlag(fi);
  if (flag & FUNC_FLAG_TOPFRAME) return { kind: "root" };
  const special = tab.special(fi);
  let sp = regs.sp;
  const s = ctx.state;
  switch (special) {
    case GoSpecial.Morestack:
    case GoSpecial.Mcall: {
      if (innermost) break;
      if (s !== undefined && schedulerRoot(s)) {
        // The goroutine was descheduled (dropg) in fn/newstack: this g0
        // stack is the scheduler's and begins here, fn never returns (Go's
        // own profiler ends these stacks at mcall/morestack too).
        return { kind: "root" };
      }
      if (!onSystemStack(s) || inGoroutineStack(s!, sp)) {
        return err(
          `go: ${
            special === GoSpecial.Mcall ? "mcall" : "morestack"
          } without g data`,
        );
      }
      return switchTo(memory, s!.schedPc, s!.schedSp, s!.schedBp, special);
    }
    case GoSpecial.Systemstack: {
      if (onSystemStack(s) && !inGoroutineStack(s!, sp)) {
        if (ctx.arch === "arm64" && tab.pcsp(fi, vpc) === 0) break;
        sp = s!.schedSp;
        if (!readable(memory, sp)) {
          return err("go: goroutine stack not copied");
        }
        return pcspStep(ctx, fi, vpc, regs, memory, sp);
      }
      break;
    }
    case GoSpecial.Asmcgocall: {
      // asmcgocall_landingpad only tail-jumps to C: an ordinary frame.
      if (tab.funcName(fi) === "runtime.asmcgocall_landingpad") break;
      if (!innermost && ctx.arch === "amd64") {
        // Returned to from C: cross through asmcgocall's g0 frame (see cgo.ts).
        return asmcgocallCaller(
          {
            state: s,
            cursor: ctx.cgo ?? newCgoCursor(s),
            minor: ctx.minor ?? 0,
            frameBase: tab.pcsp(fi, tab.funcEntry(fi) + 1) > 0 ? 8 : 0,
            counters: ctx.transitions,
          },
          regs,
          memory,
          readStackWord,
        );
      }
      // Interrupted in asmcgocall itself on g0 (or arm64): continue at the
      // cgocall frame entersyscall saved.
      if (onSystemStack(s) && !inGoroutineStack(s!, sp)) {
        const pc = s!.syscallPc, csp = s!.syscallSp;
        if (pc === 0 || !inGoroutineStack(s!, csp)) {
          return err("go: asmcgocall without syscall sp");
        }
        if (!readable(memory, csp)) {
          return err("go: goroutine stack not copied");
        }
        if (ctx.cgo !== undefined) ctx.cgo.syscallUsed = true;
        return {
          kind: "caller",
          regs: { pc, sp: csp, fp: s!.syscallBp || NaN },
        };
      }
      break;
    }
    case GoSpecial.Cgocallback: {
      // Go's unwinder clears SPWRITE for cgocallback: pcsp is valid on both
      // of its frames. From the goroutine-side frame, continue on the
      // system stack (its g0 twin) so the C callers appear between the Go
      // frames; Go's own traceback skips them.
      if (
        !innermost && ctx.arch === "amd64" && s !== undefined &&
        s.stackHi > s.stackLo && inGoroutineStack(s, sp)
      ) {
        const g0sp = cgocallbackG0Sp(
          {
            state: s,
            cursor: ctx.cgo ?? newCgoCursor(s),
            counters: ctx.transitions,
          },
          memory,
          readStackWord,
        );
        if (typeof g0sp === "string") return err(g0sp);
        return pcspStep(ctx, fi, vpc, regs, memory, g0sp);
      }
      return pcspStep(ctx, fi, vpc, regs, memory, sp);
    }
    default:
      break;
  }
  if (flag & FUNC_FLAG_SPWRITE) {
    const name = tab.funcName(fi);
    if (VDSO_CALLERS.has(name) && ctx.arch === "amd64") {
      const vsp = s?.vdsoSp ?? 0;
      if (innermost) {
        // Before m.vdsoSP is set or after SP is restored, pcsp is right;
        // it must land exactly on m.vdsoSP when that is set.
        const r = pcspStep(ctx, fi, vpc, regs, memory, sp);
        if (vsp === 0 || (r.kind === "caller" && r.regs.sp === vsp)) return r;
      }
      return vdsoCaller(ctx, name, regs, memory);
    }
    if (!innermost) return err(`go: SPWRITE function ${name}`);
  }
  return pcspStep(ctx, fi, vpc, regs, memory, sp);
}

/**
 * The caller of a vDSO-calling assembly function (amd64): nanotime1,
 * walltime, time.now and vgetrandom1 store their caller's SP (the address
 * of their arguments) in m.vdsoSP and the return PC in m.vdsoPC before
 * moving SP to g0's stack (vgetrandom1 stays on the current stack); Go's
 * sigprof unwinds from the same pair.
 */
function vdsoCaller(
  ctx: GoStepContext,
  name: string,
  regs: Readonly<Registers>,
  memory: StackMemory,
): StepResult {
  const s = ctx.state, counters = ctx.transitions;
  const vsp = s?.vdsoSp ?? 0, vpc = s?.vdsoPc ?? 0;
  if (s === undefined || vsp === 0) {
    counters?.add(GoTransition.vdsoNoSp);
    return err(`go: vDSO call on g0 stack from ${name}`);
  }
  if (vpc === 0) {
    counters?.add(GoTransition.vdsoInconsistent);
    return err(`go: vDSO call from ${name} with m.vdsoPC 0`);
  }
  let kind: string;
  if (s.stackHi > s.stackLo && inGoroutineStack(s, vsp)) {
    // On curg's stack: the words must describe this M's goroutine.
    if (s.m === 0 || s.curg === 0 || s.curgM !== s.m) {
      counters?.add(GoTransition.vdsoInconsistent);
      return err(`go: vDSO call from ${name} with inconsistent g data`);
    }
    kind = GoTransition.vdsoCrossed;
  } else if (vsp > regs.sp) {
    // Called on g0 or gsignal (no switch): the caller is above on this stack.
    kind = GoTransition.vdsoSameStack;
  } else {
    counters?.add(GoTransition.vdsoInconsistent);
    return err(`go: vDSO call from ${name} with m.vdsoSP off curg's stack`);
  }
  if (!readable(memory, vsp)) {
    counters?.add(GoTransition.vdsoNotCopied);
    return err("go: goroutine stack not copied");
  }
  counters?.add(kind);
  return { kind: "caller", regs: { pc: vpc, sp: vsp, fp: NaN } };
}

function readable(memory: StackMemory, addr: number): boolean {
  return readStackWord(memory, addr) >= 0;
}

function switchTo(
  memory: StackMemory,
  pc: number,
  sp: number,
  bp: number,
  special: GoSpecial,
): StepResult {
  if (pc === 0 || sp === 0) {
    return err(
      `go: ${
        special === GoSpecial.Mcall ? "mcall" : "morestack"
      } with empty curg.sched`,
    );
  }
  if (!readable(memory, sp)) return err("go: goroutine stack not copied");
  return { kind: "caller", regs: { pc, sp, fp: bp || NaN } };
}

function pcspStep(
  ctx: GoStepContext,
  fi: number,
  vpc: number,
  regs: Readonly<Registers>,
  memory: StackMemory,
  sp: number,
): StepResult {
  const delta = ctx.pclntab.pcsp(fi, vpc);
  if (delta < 0) return err("go: no pcsp for pc");
  if (ctx.arch === "amd64") {
    const ra = readStackWord(memory, sp + delta);
    if (ra < 0) return err("stack copy truncated");
    if (ra === 0) return err("go: return address 0");
    // The caller's BP was saved just below the return address when the
    // frame has one; pcsp does not say, so carry BP only as a hint.
    const fpSaved = delta >= 8 ? readStackWord(memory, sp + delta - 8) : -1;
    return {
      kind: "caller",
      regs: { pc: ra, sp: sp + delta + 8, fp: fpSaved >= 0 ? fpSaved : NaN },
    };
  }
  let ra: number;
  if (delta > 0) {
    ra = readStackWord(memory, sp);
    if (ra < 0) return err("stack copy truncated");
  } else {
    ra = regs.lr ?? NaN;
    if (!Number.isFinite(ra)) return err("go: leaf frame without lr");
  }
  if (ra === 0) return err("go: return address 0");
  const fpSaved = delta > 0 ? readStackWord(memory, sp - 8) : -1;
  return {
    kind: "caller",
    regs: { pc: ra, sp: sp + delta, fp: fpSaved >= 0 ? fpSaved : NaN, lr: NaN },
  };
}

/**
 * Wraps {@linkcode goStep} as the unwinder's {@linkcode FrameStepper} hook
 * for one mapping of one sample.
 *
 * @param ctx The binary, load bias, architecture and the sample's g data.
 * @returns The stepper.
 *
 * @example Hook a Go mapping into the native unwinder
 * ```ts ignore
 * import { makeGoStepper } from "./unwind.ts";
 * const step = makeGoStepper({ pclntab, bias, arch: "amd64", state: sample.go });
 * const resolver = (pc: number) => ({ bias, step });
 * ```
 */
export function makeGoStepper(ctx: GoStepContext): FrameStepper {
  if (ctx.cgo === undefined) ctx = { ...ctx, cgo: newCgoCursor(ctx.state) };
  return (regs, memory, lookupPc) => goStep(ctx, regs, memory, lookupPc);
}
