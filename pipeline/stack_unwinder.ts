/**
 * The user-stack unwinder the pipeline runs per sample: the native unwinder
 * (CFI with frame-pointer fallback, pipeline/unwind) over the copied stacks,
 * with the process table resolving each pc to its file's unwind table, Go's
 * pcsp stepper for pcs in Go text (fed the sample's g data so it can cross to
 * the goroutine stack), and symbol hints for signal trampolines and thread
 * roots.
 *
 * @module
 */
import { goBinaryOf, unwindTableOf } from "./objects.ts";
import type { GoBinary } from "./golang/go_binary.ts";
import { GoTransition, GoTransitionCounters } from "./golang/cgo.ts";
import type { GoLabelReader } from "./golang/labels.ts";
import { GoSpecial } from "./golang/pclntab.ts";
import { type GoSampleState, makeGoStepper } from "./golang/unwind.ts";
import type { ObjectFile } from "./proc/object_cache.ts";
import type { Module, ProcessState, ProcessTable } from "./proc/table.ts";
import type { RawSample } from "./record/mod.ts";
import type { UserStack, UserUnwinder } from "./sample_pipeline.ts";
import {
  type FrameInfo,
  type FrameResolver,
  type FrameStepper,
  type MemoryRange,
  UnwindCounters,
  unwindNative,
} from "./unwind/mod.ts";

/** `cfi`: CFI with frame-pointer fallback; `fp`: frame pointers only. */
export type UnwindMode = "cfi" | "fp";

/** Functions whose frames end a stack when CFI does not say so itself. */
const ROOT_SYMBOLS = [
  "_start",
  "__clone",
  "clone",
  "__clone3",
  "clone3",
  "start_thread",
  "thread_start",
];
/** Signal return trampolines: the frame above is the interrupted context. */
const SIGNAL_SYMBOLS = ["__restore_rt"];

interface Hint {
  start: number;
  end: number;
  kind: "signal" | "root";
}

const HINTS = "unwind.hints";
/** Bytes after the ELF entry point treated as `_start` when no symbol says so. */
const ENTRY_ROOT_BYTES = 64;
const FRAME_INFO = "unwind.frameInfo";
const MAX_FRAME_INFO = 65536;

function hintsOf(file: ObjectFile): Hint[] {
  let hints = file.derived.get(HINTS) as Hint[] | undefined;
  if (hints !== undefined) return hints;
  hints = [];
  try {
    const syms = file.elf.symbols();
    for (
      const [names, kind] of [[ROOT_SYMBOLS, "root"], [
        SIGNAL_SYMBOLS,
        "signal",
      ]] as const
    ) {
      for (const name of names) {
        const s = syms.byName(name);
        if (s === undefined) continue;
        // A sizeless symbol covers at least its first instruction.
        hints.push({
          start: s.start,
          end: s.start + Math.max(s.size, 1),
          kind,
        });
      }
    }
  } catch {
    // no symbols: no hints
  }
  // A stripped executable has no `_start` symbol, but its entry point is
  // `_start`: the return address of the call into __libc_start_main lies in
  // its first few dozen bytes (x86-64 glibc: 0x25; musl and Go: less).
  const entry = file.elf.entry;
  if (entry !== 0 && !hints.some((h) => entry >= h.start && entry < h.end)) {
    hints.push({ start: entry, end: entry + ENTRY_ROOT_BYTES, kind: "root" });
  }
  file.derived.set(HINTS, hints);
  return hints;
}

function hintAt(
  file: ObjectFile,
  vaddr: number,
): "signal" | "root" | undefined {
  for (const h of hintsOf(file)) {
    if (vaddr >= h.start && vaddr < h.end) return h.kind;
  }
  return undefined;
}

/** The g data of a sample in the stepper's shape, when it is consistent. */
function goState(s: RawSample): GoSampleState | undefined {
  const g = s.go;
  if (g === undefined || g.readError || g.g === 0) return undefined;
  return g;
}

/** The goroutine id of a sample: the current user goroutine, when there is one. */
function goroutineIdOf(s: RawSample): number | undefined {
  const g = s.go;
  if (
    g === undefined || g.readError || g.curg === 0 || g.curgM !== g.m ||
    g.goid === 0
  ) {
    return undefined;
  }
  return g.goid;
}

const GOEXIT = "go.goexitEntry";

/** Link-time entry of runtime.goexit (cached on the binary), -1 when absent. */
function goexitEntry(go: GoBinary): number {
  const cache = go as unknown as Record<string, number | undefined>;
  let e = cache[GOEXIT];
  if (e !== undefined) return e;
  e = -1;
  const tab = go.pclntab;
  for (let i = 0; i < tab.nfunc; i++) {
    if (tab.special(i) === GoSpecial.Goexit) {
      e = tab.funcEntry(i);
      break;
    }
  }
  cache[GOEXIT] = e;
  return e;
}

/** Options of {@linkcode makeUserUnwinder} beyond the mode and table. */
export interface UserUnwinderOptions {
  /** Outcomes of the cgo crossings and label reads (see golang/cgo.ts). */
  readonly transitions?: GoTransitionCounters | undefined;
  /** Reads pprof labels of live processes; absent = no labels (replay). */
  readonly labels?: GoLabelReader | undefined;
}

/**
 * Builds the per-sample unwinder.
 *
 * @param mode CFI (default) or frame pointers only.
 * @param table The process table that resolves pcs.
 * @param counters Per-reason outcome counters (including `complete`).
 * @param options Transition counters and the label reader.
 * @returns The unwinder.
 */
export function makeUserUnwinder(
  mode: UnwindMode,
  table: ProcessTable,
  counters: UnwindCounters = new UnwindCounters(),
  options: UserUnwinderOptions = {},
): UserUnwinder {
  const transitions = options.transitions ?? new GoTransitionCounters();
  return (s: RawSample, proc: ProcessState): UserStack => {
    const memory: MemoryRange[] = [s.ustack];
    if (s.gstack.bytes.length > 0) memory.push(s.gstack);
    const state = goState(s);
    let steppers: Map<GoBinary, FrameStepper> | undefined;
    const stepperFor = (go: GoBinary, bias: number): FrameStepper => {
      steppers ??= new Map();
      let st = steppers.get(go);
      if (st === undefined) {
        st = makeGoStepper({
          pclntab: go.pclntab,
          bias,
          arch: go.arch,
          state,
          minor: go.buildInfo.minor,
          transitions,
        });
        steppers.set(go, st);
      }
      return st;
    };
    let cache = proc.derived.get(FRAME_INFO) as
      | Map<number, FrameInfo | null>
      | undefined;
    if (cache === undefined) {
      cache = new Map();
      proc.derived.set(FRAME_INFO, cache);
    }
    const infos = cache;
    const resolver: FrameResolver = (pc) => {
      const module = table.resolve(proc, pc);
      if (module === undefined) return undefined;
      const file = module.file;
      if (file !== undefined) {
        const go = goBinaryOf(file);
        if (go !== undefined && go.pclntab.findFunc(pc - module.bias) >= 0) {
          return { bias: module.bias, step: stepperFor(go, module.bias) };
        }
      }
      const hit = infos.get(pc);
      if (hit !== undefined) return hit ?? undefined;
      const info = frameInfo(module, pc);
      if (infos.size >= MAX_FRAME_INFO) infos.clear();
      infos.set(pc, info);
      return info;
    };
    const r = unwindNative(
      { regs: { pc: s.pc, sp: s.sp, fp: s.fp, lr: s.lr }, memory },
      resolver,
      { mode, counters },
    );
    const goroutineId = goroutineIdOf(s);
    const go = steppers?.keys().next().value as GoBinary | undefined;
    if (
      go === undefined && state !== undefined && isExtraMInC(s, proc, table)
    ) {
      // A C-created thread back in pure C after a callback (Go >= 1.21 keeps
      // the extra M bound): no Go frames, the test the runtime's signal
      // handler makes too.
      transitions.add(GoTransition.extraMPureC);
      return { frames: r.frames, exact: r.exact, error: r.error };
    }
    let goLabels: Readonly<Record<string, string>> | undefined;
    if (
      goroutineId !== undefined && go !== undefined && s.go!.labels !== 0 &&
      options.labels !== undefined
    ) {
      goLabels = options.labels.read(s.pid, s.go!.labels, go.buildInfo.minor);
    }
    return {
      frames: r.frames,
      exact: r.exact,
      error: r.error,
      goroutineId,
      ...(goLabels === undefined || Object.keys(goLabels).length === 0
        ? {}
        : { goLabels }),
    };
  };
}

/** g0 with a current goroutine whose syscallpc is goexit+1: extra M in C. */
function isExtraMInC(
  s: RawSample,
  proc: ProcessState,
  table: ProcessTable,
): boolean {
  const g = s.go!;
  if (g.g !== g.g0 || g.curg === 0 || g.curgM !== g.m || g.syscallPc === 0) {
    return false;
  }
  const module = table.resolve(proc, g.syscallPc);
  const file = module?.file;
  if (module === undefined || file === undefined) return false;
  const go = goBinaryOf(file);
  if (go === undefined) return false;
  const entry = goexitEntry(go);
  return entry >= 0 &&
    g.syscallPc - module.bias === entry + go.pclntab.quantum;
}

function frameInfo(module: Module, pc: number): FrameInfo {
  const file = module.file;
  if (file === undefined) return { bias: module.bias };
  const kind = hintAt(file, pc - module.bias);
  const table = unwindTableOf(file);
  return {
    bias: module.bias,
    ...(table === undefined ? {} : { table }),
    ...(kind === undefined ? {} : { kind }),
  };
}
