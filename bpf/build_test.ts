import { strictEqual } from "node:assert/strict";
import { createHash } from "node:crypto";

const dir = new URL(".", import.meta.url).pathname;
const SOURCES = ["Makefile", "profiler.bpf.c", "profiler.h", "vmlinux_min.h"];

function recorded(): { hashes: Map<string, string>; compiler: string } {
  const hashes = new Map<string, string>();
  let compiler = "";
  for (
    const line of Deno.readTextFileSync(`${dir}profiler.bpf.sum`).split("\n")
  ) {
    const m = /^([0-9a-f]{64}) {2}(\S+)$/.exec(line);
    if (m) hashes.set(m[2]!, m[1]!);
    else if (line.startsWith("compiler: ")) {
      compiler = line.slice("compiler: ".length);
    }
  }
  return { hashes, compiler };
}

Deno.test("bpf/profiler.bpf.o is built from the current sources (run `make -C bpf` if this fails)", () => {
  const { hashes } = recorded();
  strictEqual([...hashes.keys()].sort().join(), [...SOURCES].sort().join());
  for (const f of SOURCES) {
    const h = createHash("sha256").update(Deno.readFileSync(`${dir}${f}`))
      .digest("hex");
    strictEqual(
      h,
      hashes.get(f),
      `${f} changed since profiler.bpf.o was built: run make -C bpf`,
    );
  }
  Deno.statSync(`${dir}profiler.bpf.o`);
});

Deno.test("bpf/profiler.bpf.sum records the installed clang", async (t) => {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("clang", { args: ["--version"] }).output();
  } catch {
    await t.step({
      name: "clang not installed: compiler line not checked",
      ignore: true,
      fn() {},
    });
    return;
  }
  const line = new TextDecoder().decode(out.stdout).split("\n")[0]!;
  strictEqual(
    recorded().compiler,
    line,
    "object was built with another clang: run make -C bpf",
  );
});
