import { assert, assertEquals } from "../../tests/assert.ts";
import { FileSource } from "../binary/mod.ts";
import { parseElf } from "../elf/mod.ts";
import { buildNativeFixtures } from "../../tests/fixtures/native/build.ts";
import { demangle, NativeSymbolizer } from "./native.ts";

Deno.test("demangle() handles C++ and Rust names and leaves C names alone", () => {
  assertEquals(demangle("_ZN3foo3barEv"), "foo::bar()");
  assertEquals(
    demangle("_ZN4core3fmt5write17h0123456789abcdefE"),
    "core::fmt::write",
  );
  assertEquals(demangle("main"), "main");
  assertEquals(demangle("_Zgarbage"), "_Zgarbage");
});

Deno.test("NativeSymbolizer resolves names and file:line of a -g binary", async () => {
  const f = await buildNativeFixtures();
  const elf = parseElf(new FileSource(f.chain));
  const s = new NativeSymbolizer(elf);
  const a = elf.symbols().byName("a")!;
  const hit = s.symbolize(a.start + 1)!;
  assertEquals(hit.functionName, "a");
  assertEquals(hit.start, a.start);
  assert(hit.fileName?.endsWith("chain_main.c"), JSON.stringify(hit));
  assert((hit.line ?? 0) > 0);
  assertEquals(s.symbolize(0), undefined);
});

Deno.test("NativeSymbolizer uses the separate debug file of a stripped binary", async () => {
  const f = await buildNativeFixtures();
  const elf = parseElf(new FileSource(f.symbolsSplit));
  const debug = parseElf(new FileSource(`${f.dir}/.debug/symbols_split.debug`));
  const start = debug.symbols().byName("global_one")!.start;
  assertEquals(new NativeSymbolizer(elf).symbolize(start), undefined);
  const hit = new NativeSymbolizer(elf, { debug }).symbolize(start)!;
  assertEquals(hit.functionName, "global_one");
  assert(hit.fileName?.endsWith("symbols.c"));
});
