/**
 * gdb as the oracle for the native unwinder: stop the -O2
 * -fomit-frame-pointer fixtures at chosen points, hand the unwinder the same
 * registers and stack bytes gdb sees, and compare function sequences with
 * gdb's `bt`.
 */
import { assert, assertEquals } from "./assert.ts";
import { buildNativeFixtures } from "./fixtures/native/build.ts";
import {
  type GdbSnapshot,
  gdbSnapshot,
} from "./fixtures/native/gdb_snapshot.ts";
import {
  frameNames,
  mapsResolver,
  parseMaps,
  sameFunction,
} from "./fixtures/native/maps_resolver.ts";
import {
  UnwindCounters,
  unwindNative,
  type UnwindOptions,
} from "../pipeline/unwind/mod.ts";

const hasGdb = await new Deno.Command("gdb", {
  args: ["--version"],
  stdout: "null",
}).output()
  .then((o) => o.success, () => false);

function unwindSnapshot(snap: GdbSnapshot, options: UnwindOptions = {}) {
  const maps = parseMaps(snap.maps);
  const res = unwindNative(
    {
      regs: { pc: snap.regs.rip!, sp: snap.regs.rsp!, fp: snap.regs.rbp! },
      memory: [{ base: snap.stackBase, bytes: snap.stack }],
    },
    mapsResolver(maps),
    options,
  );
  return { res, maps, names: frameNames(maps, res) };
}

function assertMatchesGdb(snap: GdbSnapshot, options: UnwindOptions = {}) {
  const { res, maps, names } = unwindSnapshot(snap, options);
  const gdbNames = snap.frames.map((f) => f.name ?? "<signal handler called>");
  const msg = `ours: ${names.join(" <- ")} (${
    res.error ?? "complete"
  })\ngdb:  ${gdbNames.join(" <- ")}`;
  assertEquals(res.error, undefined, msg);
  assertEquals(names.length, gdbNames.length, msg);
  for (let i = 0; i < names.length; i++) {
    const g = snap.frames[i]!;
    if (g.name === null) continue; // gdb's sigtramp frame: we name the trampoline symbol
    // gdb synthesizes `f@plt` names from relocations; symbol tables have none.
    if (g.name.endsWith("@plt") && names[i] === "?") continue;
    const lookup = i === 0 || res.exact.includes(i)
      ? res.frames[i]!
      : res.frames[i]! - 1;
    assert(sameFunction(maps, lookup, names[i]!, g.name), `frame ${i}: ${msg}`);
    assertEquals(res.frames[i], g.pc, `frame ${i} pc: ${msg}`);
  }
  return { res, names };
}

Deno.test({
  name:
    "unwindNative() matches gdb bt at lib_leaf (-O2 -fomit-frame-pointer, via PLT)",
  ignore: !hasGdb,
  async fn() {
    const f = await buildNativeFixtures();
    const snap = await gdbSnapshot(f.chain, ["1"], { breakpoint: "lib_leaf" });
    const { names } = assertMatchesGdb(snap);
    assertEquals(names.slice(0, 4), ["lib_leaf", "b", "a", "main"]);
    const fp = unwindSnapshot(snap, { mode: "fp" });
    // Frame pointers alone cannot get past the first frame here.
    assert(
      fp.res.error !== undefined,
      `fp-only unexpectedly complete: ${fp.names}`,
    );
    console.log(
      `  CFI: ${names.length} frames complete; FP-only: ${fp.names.length} frames, stopped with "${fp.res.error}" (${
        fp.names.join(" <- ")
      })`,
    );
  },
});

Deno.test({
  name: "unwindNative() matches gdb inside the PLT stub and mid-prologue",
  ignore: !hasGdb,
  async fn(t) {
    const f = await buildNativeFixtures();
    // stepi 0..2 at lib_leaf@plt covers offsets 0, 6 (after the lazy jmp) and 11 (after push).
    for (const stepi of [0, 1, 2]) {
      await t.step(`lib_leaf@plt + stepi ${stepi}`, async () => {
        const snap = await gdbSnapshot(f.chain, ["1"], {
          breakpoint: "'lib_leaf@plt'",
          stepi,
        });
        assertMatchesGdb(snap);
      });
    }
    await t.step("entry of a (before sub rsp)", async () => {
      const snap = await gdbSnapshot(f.chain, ["1"], { breakpoint: "*a" });
      const { names } = assertMatchesGdb(snap);
      assertEquals(names.slice(0, 2), ["a", "main"]);
    });
  },
});

Deno.test({
  name: "unwindNative() unwinds a signal handler through __restore_rt like gdb",
  ignore: !hasGdb,
  async fn() {
    const f = await buildNativeFixtures();
    const snap = await gdbSnapshot(f.signal, ["1"], {
      breakpoint: "handler_burn",
    });
    const counters = new UnwindCounters();
    const { res, names } = assertMatchesGdb(snap, { counters });
    const k = names.indexOf("__restore_rt");
    assert(k > 0, names.join(" <- "));
    assertEquals(names.slice(0, k), ["handler_burn", "on_alarm"]);
    assert(
      names.slice(k + 1).includes("busy_loop") && names.includes("main"),
      names.join(" <- "),
    );
    assert(res.exact.includes(k) && res.exact.includes(k + 1));
    assertEquals(counters.get("complete"), 1);
  },
});

Deno.test({
  name: "unwindNative() reports a truncated stack copy",
  ignore: !hasGdb,
  async fn() {
    const f = await buildNativeFixtures();
    const snap = await gdbSnapshot(f.chain, ["1"], {
      breakpoint: "lib_leaf",
      maxStack: 64,
    });
    const counters = new UnwindCounters();
    const { res, names } = unwindSnapshot(snap, { counters });
    assertEquals(res.error, "stack copy truncated");
    assertEquals(names[0], "lib_leaf");
    assertEquals(counters.get("stack copy truncated"), 1);
  },
});
