/**
 * The native unwinder: walks a stack copy frame by frame using the compiled
 * CFI of each object ({@linkcode UnwindRules}), with the frame pointer chain
 * as a fallback where no FDE covers the pc, signal frames restored from the
 * kernel's `ucontext`, and a hook ({@linkcode FrameInfo.step}) through which a
 * language-aware stepper (Go) takes over for its own code.
 *
 * Every unwind ends either at a known root (return address 0, an undefined
 * return address rule as `_start`/`clone3`/thread start emit, or a resolver
 * `root` hint) or with an explicit reason that becomes `[unwind: REASON]`.
 *
 * @module
 */
import { CfaKind, RegKind, type UnwindRules } from "../dwarf/mod.ts";
import type {
  FrameResolver,
  Registers,
  StackMemory,
  UnwindCounters,
  UnwindResult,
} from "./types.ts";

/** Default cap on frames per stack. */
export const MAX_FRAMES = 256;

/** Input of {@linkcode unwindNative}. */
export interface UnwindInput {
  /** Registers at the sample (innermost frame). */
  readonly regs: Readonly<Registers>;
  /** Copied stack memory. */
  readonly memory: StackMemory;
}

/** Options of {@linkcode unwindNative}. */
export interface UnwindOptions {
  /** Frame cap (default {@linkcode MAX_FRAMES}). */
  maxFrames?: number;
  /** Counts every outcome by reason (`complete` for roots). */
  counters?: UnwindCounters;
  /** `cfi` (default): CFI first, frame pointers as fallback. `fp`: frame pointers only (for comparisons). */
  mode?: "cfi" | "fp";
  /** Register numbering when no table says otherwise (default `x86_64`). */
  arch?: "x86_64" | "aarch64";
}

/** Reads of 8 bytes from the copied ranges; -1 = outside the copy, -2 = not a safe integer. */
class Memory {
  #ranges: { base: number; end: number; view: DataView }[];
  constructor(memory: StackMemory) {
    this.#ranges = memory.map((m) => ({
      base: m.base,
      end: m.base + m.bytes.length,
      view: new DataView(
        m.bytes.buffer,
        m.bytes.byteOffset,
        m.bytes.byteLength,
      ),
    }));
  }
  u64(addr: number): number {
    const rs = this.#ranges;
    for (let i = 0; i < rs.length; i++) {
      const r = rs[i]!;
      if (addr >= r.base && addr + 8 <= r.end) {
        const o = addr - r.base;
        const lo = r.view.getUint32(o, true);
        const hi = r.view.getUint32(o + 4, true);
        return hi > 0x1fffff ? -2 : hi * 0x100000000 + lo;
      }
    }
    return -1;
  }
}

/** Offsets in the amd64 `rt_sigframe` from the sp at `__restore_rt` (= &uc). */
const UC_MCONTEXT = 40;
/** `struct sigcontext` slots (8 bytes each) by DWARF register number. */
const SIGCONTEXT_SLOT: readonly number[] = [
  13, // rax
  12, // rdx
  14, // rcx
  11, // rbx
  9, // rsi
  8, // rdi
  10, // rbp
  15, // rsp
  0,
  1,
  2,
  3,
  4,
  5,
  6,
  7, // r8..r15
  16, // rip
];

/**
 * Unwinds one stack.
 *
 * @param input Registers and stack copy of the sample.
 * @param resolver Maps a pc to its unwind table and load bias (the process layer).
 * @param options Frame cap, counters, mode.
 * @returns Frame pcs innermost first, exact-pc indices, and the error reason if incomplete.
 *
 * @example Unwind with a resolver that knows nothing
 * ```ts
 * import { unwindNative } from "./native.ts";
 * const res = unwindNative({ regs: { pc: 0x1000, sp: 0x7000, fp: NaN }, memory: [] }, () => undefined);
 * console.assert(res.frames.length === 1 && res.error === "pc not mapped");
 * ```
 */
export function unwindNative(
  input: UnwindInput,
  resolver: FrameResolver,
  options: UnwindOptions = {},
): UnwindResult {
  const res = walk(input, resolver, options);
  options.counters?.add(res.error ?? "complete");
  return res;
}

function walk(
  input: UnwindInput,
  resolver: FrameResolver,
  options: UnwindOptions,
): UnwindResult {
  const maxFrames = options.maxFrames ?? MAX_FRAMES;
  const fpOnly = options.mode === "fp";
  const arm = options.arch === "aarch64";
  const mem = new Memory(input.memory);
  let pc = input.regs.pc;
  let sp = input.regs.sp;
  let fp = input.regs.fp;
  let lr = input.regs.lr ?? Number.NaN;
  // Registers other than pc/sp/fp, valid only right after a signal frame.
  let extra: Float64Array | undefined;
  const frames: number[] = [pc];
  const exact: number[] = [];
  let exactPc = true;
  const done = (error?: string): UnwindResult =>
    error === undefined ? { frames, exact } : { frames, exact, error };

  for (;;) {
    if (pc === 0) {
      frames.pop();
      return done();
    }
    if (frames.length >= maxFrames) return done("max frames");
    const lookup = exactPc ? pc : pc - 1;
    const info = resolver(lookup);
    if (info === undefined) return done("pc not mapped");
    let newPc: number;
    let newSp: number;
    let newFp: number;
    let nextExact = false;
    let checkSp = true;
    if (info.step !== undefined) {
      const r = info.step({ pc, sp, fp, lr }, input.memory, lookup);
      if (r.kind === "root") return done();
      if (r.kind === "error") return done(r.reason);
      newPc = r.regs.pc;
      newSp = r.regs.sp;
      newFp = r.regs.fp;
      lr = r.regs.lr ?? Number.NaN;
      nextExact = r.exact === true;
      checkSp = false;
      extra = undefined;
    } else {
      const table = fpOnly ? undefined : info.table;
      const vaddr = lookup - info.bias;
      let row = table === undefined ? -1 : table.find(vaddr);
      if (table !== undefined && row < 0 && !exactPc) {
        // A sigreturn trampoline reached as a "return address" may start
        // exactly at pc when the FDE does not cover the byte before it.
        const r2 = table.find(pc - info.bias);
        if (r2 >= 0 && table.cfaKind[r2] === CfaKind.SIGNAL) row = r2;
      }
      const kind = row >= 0 ? table!.cfaKind[row]! : -1;
      if (kind === CfaKind.SIGNAL || (row < 0 && info.kind === "signal")) {
        if (arm) return done("unsupported signal frame");
        // sp points at the ucontext the kernel pushed (pretcode was popped by ret).
        const mc = sp + UC_MCONTEXT;
        const regs = new Float64Array(17);
        for (let reg = 0; reg < 17; reg++) {
          const v = mem.u64(mc + 8 * SIGCONTEXT_SLOT[reg]!);
          if (v === -1) return done("stack copy truncated");
          regs[reg] = v < 0 ? Number.NaN : v;
        }
        newPc = regs[16]!;
        newSp = regs[7]!;
        newFp = regs[6]!;
        if (Number.isNaN(newPc) || Number.isNaN(newSp)) {
          return done("bad signal frame");
        }
        extra = regs;
        nextExact = true;
        checkSp = false;
        if (
          exact[exact.length - 1] !== frames.length - 1 && frames.length > 1
        ) {
          exact.push(frames.length - 1); // the trampoline itself
        }
      } else if (row >= 0) {
        const t = table!;
        if (t.raKind[row] === RegKind.UNDEFINED) return done();
        const cfa = computeCfa(t, row, kind, sp, fp, extra, vaddr, mem);
        if (cfa === -1) return done("stack copy truncated");
        if (cfa < 0) return done(cfa === -3 ? "unsupported cfi" : "bad cfa");
        newSp = cfa;
        switch (t.raKind[row]) {
          case RegKind.OFFSET:
            newPc = mem.u64(cfa + t.raOffset[row]!);
            break;
          case RegKind.SAME:
            newPc = arm ? lr : Number.NaN;
            break;
          case RegKind.REGISTER:
            newPc = regValue(t.raOffset[row]!, t, sp, fp, lr, extra);
            break;
          default:
            return done("unsupported cfi");
        }
        if (newPc === -1) return done("stack copy truncated");
        if (Number.isNaN(newPc)) return done("bad return address");
        switch (t.fpKind[row]) {
          case RegKind.SAME:
            newFp = fp;
            break;
          case RegKind.OFFSET:
            newFp = mem.u64(cfa + t.fpOffset[row]!);
            break;
          case RegKind.AT_FP:
            newFp = Number.isNaN(fp)
              ? Number.NaN
              : mem.u64(fp + t.fpOffset[row]!);
            break;
          case RegKind.VAL_OFFSET:
            newFp = cfa + t.fpOffset[row]!;
            break;
          default:
            newFp = Number.NaN;
        }
        if (newFp < 0) newFp = Number.NaN;
        lr = Number.NaN;
        extra = undefined;
      } else if (info.kind === "root") {
        return done();
      } else {
        // Frame pointer chain: [fp] = caller's fp, [fp + 8] = return address.
        if (Number.isNaN(fp) || fp < sp || fp === 0) {
          return done(
            fpOnly || info.table === undefined
              ? "no unwind info"
              : "no unwind info",
          );
        }
        if (arm && exactPc && frames.length === 1 && !Number.isNaN(lr)) {
          // arm64 leaf without a frame record: the return address is in lr.
          newPc = lr;
          newSp = sp;
          newFp = fp;
        } else {
          newPc = mem.u64(fp + 8);
          newFp = mem.u64(fp);
          newSp = fp + 16;
        }
        if (newPc === -1 || newFp === -1) return done("stack copy truncated");
        if (newPc < 0) return done("bad return address");
        if (newFp < 0) newFp = Number.NaN;
        lr = Number.NaN;
        extra = undefined;
      }
    }
    if (arm) newPc = newPc % 0x1000000000000; // strip pointer authentication bits
    if (newPc === 0) return done();
    if (checkSp && !(newSp > sp)) return done("loop");
    if (newPc === pc && newSp === sp) return done("loop");
    pc = newPc;
    sp = newSp;
    fp = newFp;
    frames.push(pc);
    if (nextExact) exact.push(frames.length - 1);
    exactPc = nextExact;
  }
}

/** Value of a register by DWARF number, NaN when unknown. */
function regValue(
  reg: number,
  t: UnwindRules,
  sp: number,
  fp: number,
  lr: number,
  extra: Float64Array | undefined,
): number {
  if (reg === t.arch.spReg) return sp;
  if (reg === t.arch.fpReg) return fp;
  if (reg === 30 && t.arch.name === "aarch64") return lr;
  return extra?.[reg] ?? Number.NaN;
}

/** The CFA of a row; -1 = read outside the copy, -2 = unknown register or bad value, -3 = unsupported rule. */
function computeCfa(
  t: UnwindRules,
  row: number,
  kind: number,
  sp: number,
  fp: number,
  extra: Float64Array | undefined,
  vaddr: number,
  mem: Memory,
): number {
  switch (kind) {
    case CfaKind.REG_OFFSET: {
      const base = regValue(t.cfaReg[row]!, t, sp, fp, Number.NaN, extra);
      return Number.isNaN(base) ? -2 : base + t.cfaOffset[row]!;
    }
    case CfaKind.DEREF: {
      const base = regValue(t.cfaReg[row]!, t, sp, fp, Number.NaN, extra);
      if (Number.isNaN(base)) return -2;
      const v = mem.u64(base + t.cfaOffset[row]!);
      return v === -2 ? -2 : v;
    }
    case CfaKind.PLT:
      return sp + t.cfaOffset[row]! + ((vaddr & 15) >= t.cfaReg[row]! ? 8 : 0);
    default:
      return -3;
  }
}
