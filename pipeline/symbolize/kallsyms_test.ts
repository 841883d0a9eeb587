import { assert, assertEquals } from "../../tests/assert.ts";
import { KernelSymbols } from "./kallsyms.ts";

const TEXT = `0000000000000000 A fixed_percpu_data
ffffffff81000000 T _stext
ffffffff81000000 T startup_64
ffffffff81001000 t helper
ffffffff81002000 D some_data
ffffffff81003000 T do_syscall_64
ffffffffc0a01000 t nf_hook\t[nf_tables]
`;

Deno.test("KernelSymbols.lookup() returns the containing text symbol", () => {
  const syms = KernelSymbols.parse(TEXT);
  assertEquals(syms.size, 5);
  assertEquals(syms.lookup(0xffffffff81001234n)?.name, "helper");
  assertEquals(syms.lookup(0xffffffff81003000n)?.name, "do_syscall_64");
  // A data symbol does not end the preceding text symbol's range.
  assertEquals(syms.lookup(0xffffffff81002010n)?.name, "helper");
  assertEquals(syms.lookup(0xffffffffc0a01010n)?.module, "nf_tables");
  assertEquals(syms.lookup(0xffffffff80000000n), undefined);
});

Deno.test("KernelSymbols.parse() keeps exact addresses above 2^63", () => {
  const syms = KernelSymbols.parse(TEXT);
  assertEquals(syms.lookup(0xffffffffc0a01fffn)?.start, 0xffffffffc0a01000n);
});

Deno.test("KernelSymbols.parse() yields an empty table when addresses are hidden", () => {
  const syms = KernelSymbols.parse(
    "0000000000000000 T _stext\n0000000000000000 T x\n",
  );
  assertEquals(syms.size, 0);
  assertEquals(syms.lookup(0xffffffff81000000n), undefined);
});

Deno.test("KernelSymbols.load() reads the running kernel's symbols as root", () => {
  if (Deno.uid() !== 0 && Deno.env.get("CI") !== "true") return;
  const syms = KernelSymbols.load();
  assert(syms.size > 1000, `only ${syms.size} kernel text symbols`);
});
