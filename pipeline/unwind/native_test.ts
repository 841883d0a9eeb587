import { assertEquals } from "../../tests/assert.ts";
import { UnwindTable, X86_64 } from "../dwarf/mod.ts";
import { UnwindCounters, unwindNative } from "./mod.ts";

/** A stack copy built from 64-bit words. */
function stack(base: number, words: number[]) {
  const bytes = new Uint8Array(words.length * 8);
  const v = new DataView(bytes.buffer);
  words.forEach((w, i) => v.setBigUint64(i * 8, BigInt(w), true));
  return [{ base, bytes }];
}

Deno.test("unwindNative() follows frame pointers when no table covers the pc", () => {
  // fp chain: 0x1000 -> (saved fp 0x1020, ra 0x500) ; 0x1020 -> (0, ra 0x600); then ra 0 ends.
  const memory = stack(0x1000, [0x1020, 0x500, 0, 0, 0x0, 0x600, 0, 0]);
  const res = unwindNative(
    { regs: { pc: 0x400, sp: 0x1000, fp: 0x1000 }, memory },
    () => ({ bias: 0 }),
  );
  assertEquals(res.frames, [0x400, 0x500, 0x600]);
  assertEquals(res.error, "no unwind info"); // fp 0 after the last frame
});

Deno.test("unwindNative() stops with reasons and counts them", async (t) => {
  const counters = new UnwindCounters();
  await t.step("pc not mapped", () => {
    const res = unwindNative(
      { regs: { pc: 1, sp: 0, fp: NaN }, memory: [] },
      () => undefined,
      {
        counters,
      },
    );
    assertEquals(res.error, "pc not mapped");
  });
  await t.step("stack copy truncated", () => {
    const res = unwindNative(
      {
        regs: { pc: 0x400, sp: 0x1000, fp: 0x2000 },
        memory: stack(0x1000, [1]),
      },
      () => ({ bias: 0 }),
      { counters },
    );
    assertEquals(res.error, "stack copy truncated");
  });
  await t.step("loop", () => {
    // A (bogus) rule whose CFA equals sp: the caller's sp would not grow.
    const table = new UnwindTable(X86_64, [{
      start: 0x400,
      end: 0x500,
      rows: [{
        pc: 0x400,
        cfaKind: 1,
        cfaReg: 7,
        cfaOffset: 0,
        raKind: 1,
        raOffset: 0,
        fpKind: 0,
        fpOffset: 0,
      }],
    }]);
    const res = unwindNative(
      {
        regs: { pc: 0x410, sp: 0x1000, fp: NaN },
        memory: stack(0x1000, [0x420]),
      },
      () => ({ table, bias: 0 }),
      { counters },
    );
    assertEquals(res.error, "loop");
  });
  await t.step("undefined return address rule is a complete root", () => {
    const table = new UnwindTable(X86_64, [{
      start: 0x400,
      end: 0x500,
      rows: [{
        pc: 0x400,
        cfaKind: 1,
        cfaReg: 7,
        cfaOffset: 8,
        raKind: 2,
        raOffset: 0,
        fpKind: 0,
        fpOffset: 0,
      }],
    }]);
    const res = unwindNative(
      { regs: { pc: 0x410, sp: 0x1000, fp: NaN }, memory: [] },
      () => ({ table, bias: 0 }),
      { counters },
    );
    assertEquals(res, { frames: [0x410], exact: [] });
  });
  await t.step("a Go-style stepper takes over", () => {
    const res = unwindNative(
      { regs: { pc: 0x410, sp: 0x1000, fp: NaN }, memory: [] },
      (pc) => ({
        bias: 0,
        step: (regs) =>
          pc === 0x410
            ? { kind: "caller", regs: { pc: 0x900, sp: regs.sp + 64, fp: NaN } }
            : { kind: "root" },
      }),
      { counters },
    );
    assertEquals(res.frames, [0x410, 0x900]);
    assertEquals(res.error, undefined);
  });
  assertEquals(counters.get("pc not mapped"), 1);
  assertEquals(counters.get("stack copy truncated"), 1);
  assertEquals(counters.get("loop"), 1);
  assertEquals(counters.get("complete"), 2);
});
