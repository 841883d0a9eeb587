/**
 * Unwound samples per second for a ~22-frame native stack: the -O2
 * -fomit-frame-pointer chain fixture with `a` nested 16 deep, stopped by gdb
 * in lib_leaf (registers + stack copy), unwound by CFI over the real ELF
 * files. Tables are built outside the measured function, as the process
 * layer caches them.
 */
import { buildNativeFixtures } from "../../tests/fixtures/native/build.ts";
import { gdbSnapshot } from "../../tests/fixtures/native/gdb_snapshot.ts";
import {
  mapsResolver,
  parseMaps,
} from "../../tests/fixtures/native/maps_resolver.ts";
import { unwindNative } from "./mod.ts";

const f = await buildNativeFixtures();
const snap = await gdbSnapshot(f.chain, ["1", "16"], {
  breakpoint: "lib_leaf",
});
const maps = parseMaps(snap.maps);
const resolver = mapsResolver(maps);
const input = {
  regs: { pc: snap.regs.rip!, sp: snap.regs.rsp!, fp: snap.regs.rbp! },
  memory: [{ base: snap.stackBase, bytes: snap.stack }],
};
const check = unwindNative(input, resolver);
if (check.error !== undefined || check.frames.length < 20) {
  throw new Error(
    `bench stack is not a complete 20+ frame stack: ${check.frames.length} frames, ${check.error}`,
  );
}
const BATCH = 1000;

Deno.bench({
  name: `unwindNative/cfi ${check.frames.length} frames x${BATCH}`,
  group: "unwind",
  baseline: true,
  fn() {
    for (let i = 0; i < BATCH; i++) unwindNative(input, resolver);
  },
});

Deno.bench({
  name: `unwindNative/fp-only x${BATCH} (stops early)`,
  group: "unwind",
  fn() {
    for (let i = 0; i < BATCH; i++) {
      unwindNative(input, resolver, { mode: "fp" });
    }
  },
});
