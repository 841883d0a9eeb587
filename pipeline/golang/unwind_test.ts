import { assert, assertEquals } from "../../tests/assert.ts";
import { BytesSource } from "../binary/mod.ts";
import { parseElf } from "../elf/mod.ts";
import type { Registers, StackMemory } from "../unwind/types.ts";
import { readAtVaddr } from "./_elf_util.ts";
import { type GoSampleState, goStep, openGoBinary } from "./mod.ts";
import { GoTransition, GoTransitionCounters } from "./cgo.ts";
import { newestChainFixture } from "./_test_fixture.ts";

const path = await newestChainFixture();
const go = path
  ? openGoBinary(parseElf(new BytesSource(Deno.readFileSync(path))))
  : undefined;

function fn(name: string): number {
  const t = go!.pclntab;
  for (let i = 0; i < t.nfunc; i++) if (t.funcName(i) === name) return i;
  throw new Error(`no ${name}`);
}

/** Return address after a direct `CALL target` inside function `caller`. */
function callSite(caller: string, target: string): number {
  const t = go!.pclntab;
  const i = fn(caller), dst = t.funcEntry(fn(target));
  const start = t.funcEntry(i), end = t.funcEnd(i);
  const code = readAtVaddr(go!.elf, start, end - start)!;
  const v = new DataView(code.buffer, code.byteOffset, code.byteLength);
  for (let o = 0; o + 5 <= code.length; o++) {
    if (code[o] === 0xe8 && start + o + 5 + v.getInt32(o + 1, true) === dst) {
      return start + o + 5;
    }
  }
  throw new Error(`no call ${caller} → ${target}`);
}

/** A pc inside `name` where the frame is set up (pcsp > 0). */
function bodyPc(name: string): number {
  const t = go!.pclntab;
  const i = fn(name);
  for (let pc = t.funcEntry(i) + 8; pc < t.funcEnd(i); pc++) {
    if (t.pcsp(i, pc) > 0) return pc;
  }
  throw new Error(`no body pc in ${name}`);
}

/** Lays out frames so that each return address sits where pcsp says. */
function buildStack(base: number, pcs: number[]): StackMemory {
  const t = go!.pclntab;
  const bytes = new Uint8Array(4096);
  const v = new DataView(bytes.buffer);
  let sp = base;
  for (let k = 0; k + 1 < pcs.length; k++) {
    const lookup = k === 0 ? pcs[k]! : pcs[k]! - 1;
    const delta = t.pcsp(t.findFunc(lookup), lookup);
    v.setBigUint64(sp + delta - base, BigInt(pcs[k + 1]!), true);
    sp += delta + 8;
  }
  return [{ base, bytes }];
}

function walk(
  regs: Registers,
  memory: StackMemory,
  state?: GoSampleState,
): { pcs: number[]; end: string } {
  const pcs = [regs.pc];
  let lookup = regs.pc;
  for (let n = 0; n < 64; n++) {
    const r = goStep(
      { pclntab: go!.pclntab, bias: 0, arch: "amd64", state },
      regs,
      memory,
      lookup,
    );
    if (r.kind === "root") return { pcs, end: "root" };
    if (r.kind === "error") return { pcs, end: r.reason };
    regs = r.regs;
    pcs.push(regs.pc);
    lookup = regs.pc - 1;
  }
  return { pcs, end: "max" };
}

Deno.test({
  name:
    "goStep() walks main.c → main.a (main.b inlined) → main.main → runtime.main → runtime.goexit",
  ignore: go === undefined,
  fn() {
    const t = go!.pclntab;
    const pcs = [
      go!.pclntab.funcEntry(fn("main.c")) + 4, // a frameless leaf
      callSite("main.a", "main.c"),
      callSite("main.main", "main.a"),
      bodyPc("runtime.main"),
      t.funcEntry(fn("runtime.goexit")) + 1,
    ];
    const base = 0xc000100000;
    const res = walk({ pc: pcs[0]!, sp: base, fp: NaN }, buildStack(base, pcs));
    assertEquals(res.end, "root");
    assertEquals(res.pcs, pcs);
    const names = res.pcs.flatMap((pc, k) =>
      go!.symbolizeGo(pc, k > 0).map((f) => f.functionName)
    );
    assertEquals(names, [
      "main.c",
      "main.b",
      "main.a",
      "main.main",
      "runtime.main",
      "runtime.goexit",
    ]);
  },
});

Deno.test({
  name:
    "goStep() crosses runtime.systemstack and morestack with g data, else ends with a reason",
  ignore: go === undefined,
  fn() {
    const t = go!.pclntab;
    const g0Base = 0x7ff000000000, gBase = 0xc000200000;
    const ss = fn("runtime.systemstack");
    // A pc in systemstack after the switch: the CALL to fn (frame set up).
    let ssPc = -1;
    for (let pc = t.funcEntry(ss); pc < t.funcEnd(ss); pc++) {
      if (t.pcsp(ss, pc) > 0) ssPc = pc;
    }
    assert(ssPc > 0);
    const callerRa = callSite("main.a", "main.c");
    const gstack = new Uint8Array(4096);
    const delta = t.pcsp(ss, ssPc);
    new DataView(gstack.buffer).setBigUint64(
      64 + delta,
      BigInt(callerRa),
      true,
    );
    const memory: StackMemory = [
      { base: g0Base, bytes: new Uint8Array(4096) },
      { base: gBase, bytes: gstack },
    ];
    const state: GoSampleState = {
      g: 1,
      m: 2,
      g0: 1,
      curg: 3,
      curgM: 2,
      stackLo: gBase,
      stackHi: gBase + 4096,
      schedPc: callerRa,
      schedSp: gBase + 64,
      schedBp: 0,
      syscallPc: 0,
      syscallSp: 0,
    };
    const regs = { pc: ssPc + 1, sp: g0Base + 128, fp: NaN };
    const step = (st?: GoSampleState) =>
      goStep(
        { pclntab: t, bias: 0, arch: "amd64", state: st },
        regs,
        memory,
        ssPc,
      );
    const r = step(state);
    assert(r.kind === "caller", JSON.stringify(r));
    assertEquals(r.regs.pc, callerRa);
    assertEquals(r.regs.sp, gBase + 64 + delta + 8);
    const noG = step(undefined);
    assertEquals(noG, {
      kind: "error",
      reason: "go: SPWRITE function runtime.systemstack",
    });
    const ms = t.funcEntry(fn("runtime.morestack")) + 1;
    const r2 = goStep(
      { pclntab: t, bias: 0, arch: "amd64", state },
      { pc: ms + 1, sp: g0Base + 8, fp: NaN },
      memory,
      ms,
    );
    assertEquals(r2, {
      kind: "caller",
      regs: { pc: callerRa, sp: gBase + 64, fp: NaN },
    });
    const r3 = goStep(
      {
        pclntab: t,
        bias: 0,
        arch: "amd64",
        state: { ...state, schedSp: gBase + 8192 },
      },
      { pc: ms + 1, sp: g0Base + 8, fp: NaN },
      memory,
      ms,
    );
    assertEquals(r3, {
      kind: "error",
      reason: "go: goroutine stack not copied",
    });
    // On g0 after dropg (no current goroutine) morestack and mcall are the
    // root of the scheduler's stack; without any g data they are a reason.
    const mc = t.funcEntry(fn("runtime.mcall")) + 1;
    for (const pc of [ms, mc]) {
      const sched = goStep(
        {
          pclntab: t,
          bias: 0,
          arch: "amd64",
          state: { ...state, curg: 0, curgM: 0 },
        },
        { pc: pc + 1, sp: g0Base + 8, fp: NaN },
        memory,
        pc,
      );
      assertEquals(sched, { kind: "root" });
    }
    assertEquals(
      goStep(
        { pclntab: t, bias: 0, arch: "amd64" },
        { pc: mc + 1, sp: g0Base + 8, fp: NaN },
        memory,
        mc,
      ),
      { kind: "error", reason: "go: mcall without g data" },
    );
  },
});

Deno.test({
  name:
    "goStep() continues a vDSO caller at m.vdsoPC/vdsoSP, else ends with a reason",
  ignore: go === undefined,
  fn() {
    const t = go!.pclntab;
    const g0Base = 0x7ff000000000, gBase = 0xc000200000;
    const nt = fn("runtime.nanotime1");
    // A return address inside nanotime1 (after the vDSO call, on g0).
    const retPc = t.funcEntry(nt) + 40;
    const callerPc = callSite("main.a", "main.c");
    const memory: StackMemory = [
      { base: g0Base, bytes: new Uint8Array(4096) },
      { base: gBase, bytes: new Uint8Array(4096) },
    ];
    const state: GoSampleState = {
      g: 3,
      m: 2,
      g0: 1,
      curg: 3,
      curgM: 2,
      stackLo: gBase,
      stackHi: gBase + 4096,
      schedPc: 0,
      schedSp: 0,
      schedBp: 0,
      syscallPc: 0,
      syscallSp: 0,
      vdsoSp: gBase + 256,
      vdsoPc: callerPc,
    };
    const counters = new GoTransitionCounters();
    const step = (st: GoSampleState | undefined, mem = memory) =>
      goStep(
        {
          pclntab: t,
          bias: 0,
          arch: "amd64",
          state: st,
          transitions: counters,
        },
        { pc: retPc, sp: g0Base + 512, fp: NaN },
        mem,
        retPc - 1,
      );
    assertEquals(step(state), {
      kind: "caller",
      regs: { pc: callerPc, sp: gBase + 256, fp: NaN },
    });
    assertEquals(counters.get(GoTransition.vdsoCrossed), 1);
    // Not in a vDSO call (or a version 1 record): the old reason.
    assertEquals(step({ ...state, vdsoSp: 0 }), {
      kind: "error",
      reason: "go: vDSO call on g0 stack from runtime.nanotime1",
    });
    assertEquals(step(undefined), {
      kind: "error",
      reason: "go: vDSO call on g0 stack from runtime.nanotime1",
    });
    assertEquals(counters.get(GoTransition.vdsoNoSp), 2);
    // curg.m ≠ m: inconsistent.
    assertEquals(step({ ...state, curgM: 9 }).kind, "error");
    assertEquals(counters.get(GoTransition.vdsoInconsistent), 1);
    // Goroutine stack not copied.
    assertEquals(step(state, [memory[0]!]), {
      kind: "error",
      reason: "go: goroutine stack not copied",
    });
    assertEquals(counters.get(GoTransition.vdsoNotCopied), 1);
  },
});
