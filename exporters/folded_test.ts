import { assertEquals } from "../tests/assert.ts";
import type { Location, Mapping, ProfileWindow } from "../pipeline/model.ts";
import { FoldedExporter, foldedStack } from "./folded.ts";

const lib: Mapping = {
  start: 0x7f0000001000n,
  limit: 0x7f0000002000n,
  fileOffset: 0x1000n,
  path: "/usr/lib/libdemo.so",
  buildIds: {},
};
const kernel: Location = {
  kind: "kernel",
  address: 0xffffffff81000010n,
  lines: [{ functionName: "do_syscall_64" }],
};
const leaf: Location = {
  kind: "native",
  address: 0x7f0000001234n,
  mapping: lib,
  lines: [],
};
const inlined: Location = {
  kind: "go",
  address: 0x401000n,
  lines: [{ functionName: "main.b" }, { functionName: "main.a" }],
};
const root: Location = {
  kind: "go",
  address: 0x400000n,
  lines: [{ functionName: "main.main" }],
};
const err: Location = {
  kind: "error",
  address: 0n,
  lines: [{ functionName: "[unwind: loop]" }],
};

Deno.test("foldedStack() orders frames root first with inlined callers first", () => {
  assertEquals(
    foldedStack("demo", [kernel, leaf, inlined, root]),
    "demo;main.main;main.a;main.b;libdemo.so+0x1234;do_syscall_64_[k]",
  );
});

Deno.test("foldedStack() puts an error frame at the failure point", () => {
  assertEquals(
    foldedStack("demo", [leaf, err]),
    "demo;[unwind: loop];libdemo.so+0x1234",
  );
});

Deno.test("foldedStack() keeps separators out of names", () => {
  const odd: Location = {
    kind: "native",
    address: 1n,
    lines: [{ functionName: "a;b\nc" }],
  };
  assertEquals(foldedStack("x;y", [odd]), "x:y;a:b c");
});

Deno.test("FoldedExporter sums windows and rewrites the file heaviest first", async () => {
  const path = await Deno.makeTempFile({ suffix: ".folded" });
  const attributes = { threadId: 1, threadName: "demo", cpu: 0 };
  const window = (n: number): ProfileWindow => ({
    startUnixNano: 0n,
    durationNano: 1n,
    frequency: 19,
    processes: [{
      process: { pid: 1, name: "demo" },
      samples: [
        { stack: [leaf, root], attributes, count: n, timestampsUnixNano: [] },
        { stack: [root], attributes, count: 1, timestampsUnixNano: [] },
      ],
    }],
  });
  const ex = new FoldedExporter(path);
  await ex.export(window(2));
  await ex.export(window(3));
  await ex.close();
  assertEquals(
    await Deno.readTextFile(path),
    "demo;main.main;libdemo.so+0x1234 5\ndemo;main.main 2\n",
  );
  await Deno.remove(path);
});
