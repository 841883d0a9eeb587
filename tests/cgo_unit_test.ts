/**
 * The cgo crossings and the label decoder on synthetic memory (no kernel).
 */
import { assertEquals } from "./assert.ts";
import {
  asmcgocallCaller,
  GoTransitionCounters,
  newCgoCursor,
} from "../pipeline/golang/cgo.ts";
import { decodeGoLabels } from "../pipeline/golang/labels.ts";
import { readStackWord } from "../pipeline/golang/unwind.ts";

function mem(base: number, words: Record<number, number>, size = 0x200) {
  const bytes = new Uint8Array(size);
  const v = new DataView(bytes.buffer);
  for (const [a, w] of Object.entries(words)) {
    v.setBigUint64(Number(a) - base, BigInt(w), true);
  }
  return { base, bytes };
}

const G0 = 0x7000_0000, CURG = 0xc000_0000;
const state = {
  g: 0x100,
  m: 0x200,
  g0: 0x100,
  curg: 0x300,
  curgM: 0x200,
  stackLo: CURG,
  stackHi: CURG + 0x1000,
  schedPc: 0,
  schedSp: 0,
  schedBp: 0,
  syscallPc: 0x4000,
  syscallSp: CURG + 0xf10,
  g0SchedSp: 0,
};

Deno.test("asmcgocallCaller() crosses by syscallsp, g0 frame, and nosave", async (t) => {
  // Go >= 1.22 g0 frame at S: depth at S, old g at S+8; BP frame (base 8).
  const S = G0 + 0x100;
  const spb = CURG + 0xf00; // cgocall SP = spb + 16 = syscallsp
  const memory = [
    mem(G0, { [S]: 0x1000 - 0xf00, [S + 8]: 0x300 }),
    mem(CURG + 0xe00, { [spb]: CURG + 0xf80, [spb + 8]: 0x4444 }),
  ];
  await t.step("syscall when it agrees with the g0 frame", () => {
    const c = new GoTransitionCounters();
    const r = asmcgocallCaller(
      {
        state,
        cursor: newCgoCursor(state),
        minor: 26,
        frameBase: 8,
        counters: c,
      },
      { pc: 0x5000, sp: S, fp: NaN },
      memory,
      readStackWord,
    );
    assertEquals(r, {
      kind: "caller",
      regs: { pc: 0x4000, sp: CURG + 0xf10, fp: NaN },
    });
    assertEquals(c.get("asmcgocall.crossed.syscall"), 1);
  });
  await t.step("g0 frame when syscallsp disagrees", () => {
    const c = new GoTransitionCounters();
    const s2 = { ...state, syscallSp: CURG + 0xf40 };
    const r = asmcgocallCaller(
      {
        state: s2,
        cursor: newCgoCursor(s2),
        minor: 26,
        frameBase: 8,
        counters: c,
      },
      { pc: 0x5000, sp: S, fp: NaN },
      memory,
      readStackWord,
    );
    assertEquals(r, {
      kind: "caller",
      regs: { pc: 0x4444, sp: spb + 16, fp: CURG + 0xf80 },
    });
    assertEquals(c.snapshot(), {
      "asmcgocall.syscallMismatch": 1,
      "asmcgocall.crossed.g0frame": 1,
    });
  });
  await t.step("nosave (Go 1.19 layout, frameless)", () => {
    const c = new GoTransitionCounters();
    const orig = G0 + 0x180;
    const m2 = [mem(G0, { [S + 40]: orig, [S + 48]: 0, [orig]: 0x6666 })];
    const r = asmcgocallCaller(
      {
        state,
        cursor: newCgoCursor(state),
        minor: 19,
        frameBase: 0,
        counters: c,
      },
      { pc: 0x5000, sp: S, fp: NaN },
      m2,
      readStackWord,
    );
    assertEquals(r, {
      kind: "caller",
      regs: { pc: 0x6666, sp: orig + 8, fp: NaN },
    });
    assertEquals(c.get("asmcgocall.nosave"), 1);
  });
  await t.step(
    "on curg with a system stack copy (Go code in a callback)",
    () => {
      // g == curg: the sample was in Go code inside a callback; the g0 frame
      // is in the system stack copy and syscallsp was cleared by exitsyscall.
      const c = new GoTransitionCounters();
      const s4 = { ...state, g: 0x300, syscallPc: 0, syscallSp: 0 };
      const r = asmcgocallCaller(
        {
          state: s4,
          cursor: newCgoCursor(s4),
          minor: 26,
          frameBase: 8,
          counters: c,
        },
        { pc: 0x5000, sp: S, fp: NaN },
        memory,
        readStackWord,
      );
      assertEquals(r, {
        kind: "caller",
        regs: { pc: 0x4444, sp: spb + 16, fp: CURG + 0xf80 },
      });
      assertEquals(c.snapshot(), { "asmcgocall.crossed.g0frame": 1 });
    },
  );
  await t.step("inconsistent g data is an error", () => {
    const c = new GoTransitionCounters();
    const s3 = { ...state, curgM: 0x999 };
    const r = asmcgocallCaller(
      {
        state: s3,
        cursor: newCgoCursor(s3),
        minor: 26,
        frameBase: 8,
        counters: c,
      },
      { pc: 0x5000, sp: S, fp: NaN },
      memory,
      readStackWord,
    );
    assertEquals(r.kind, "error");
    assertEquals(c.get("asmcgocall.inconsistent"), 1);
  });
});

Deno.test("decodeGoLabels() reads a Go <= 1.23 hmap bucket", () => {
  const m = new Map<number, Uint8Array>();
  const put = (a: number, b: Uint8Array) => m.set(a, b);
  const words = (...w: number[]) => {
    const b = new Uint8Array(w.length * 8);
    const d = new DataView(b.buffer);
    w.forEach((x, i) => d.setBigUint64(i * 8, BigInt(x), true));
    return b;
  };
  put(0x1000, words(0x2000)); // *labelMap -> hmap
  const hmap = new Uint8Array(48);
  new DataView(hmap.buffer).setBigUint64(0, 1n, true); // count
  new DataView(hmap.buffer).setBigUint64(16, 0x3000n, true); // buckets, B = 0
  put(0x2000, hmap);
  const bucket = new Uint8Array(272);
  bucket[0] = 9; // tophash of slot 0
  const d = new DataView(bucket.buffer);
  d.setBigUint64(8, 0x4000n, true); // key ptr
  d.setBigUint64(16, 5n, true);
  d.setBigUint64(136, 0x5000n, true); // value ptr
  d.setBigUint64(144, 3n, true);
  put(0x3000, bucket);
  put(0x4000, new TextEncoder().encode("shape"));
  put(0x5000, new TextEncoder().encode("cgo"));
  const read = (a: number, n: number) => m.get(a)?.subarray(0, n);
  assertEquals(decodeGoLabels(read, 0x1000, 21), { shape: "cgo" });
  assertEquals(decodeGoLabels(() => undefined, 0x1000, 21), undefined);
});
