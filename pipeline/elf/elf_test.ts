import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { BinaryFormatError, BytesSource, FileSource } from "../binary/mod.ts";
import {
  buildNativeFixtures,
  capture,
} from "../../tests/fixtures/native/build.ts";
import {
  EM_X86_64,
  ET_DYN,
  ET_EXEC,
  findDebugFile,
  loadBias,
  parseElf,
  ProcessMemorySource,
} from "./mod.ts";

/** nm's view of the function symbols: name → address. */
async function nmFunctions(
  path: string,
  dynamic = false,
): Promise<Map<string, number>> {
  const text = await capture(
    "nm",
    dynamic ? ["-D", "--defined-only", path] : ["--defined-only", path],
  );
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([0-9a-f]+) ([tTiW]) (\S+)$/.exec(line);
    if (m) out.set(m[3]!.replace(/@.*$/, ""), parseInt(m[1]!, 16));
  }
  return out;
}

function load(path: string) {
  return parseElf(new BytesSource(Deno.readFileSync(path), path));
}

Deno.test("parseElf() reads headers of PIE and non-PIE executables", async () => {
  const f = await buildNativeFixtures();
  const pie = load(f.symbolsPie);
  assertEquals(pie.type, ET_DYN);
  assertEquals(pie.machine, EM_X86_64);
  assert(pie.is64 && pie.littleEndian);
  const nopie = load(f.symbolsNoPie);
  assertEquals(nopie.type, ET_EXEC);
  const hdr = await capture("readelf", ["-h", f.symbolsNoPie]);
  const entry = /Entry point address:\s+0x([0-9a-f]+)/.exec(hdr)![1]!;
  assertEquals(nopie.entry, parseInt(entry, 16));
  assert(nopie.section(".text") !== undefined);
  assertEquals(nopie.sectionBytes(nopie.section(".bss")!).length, 0);
});

Deno.test("symbols() agrees with nm on unstripped executables", async (t) => {
  const f = await buildNativeFixtures();
  for (const path of [f.symbolsPie, f.symbolsNoPie]) {
    await t.step(path.split("/").pop()!, async () => {
      const syms = load(path).symbols();
      const want = await nmFunctions(path);
      for (const name of ["main", "global_one", "global_two"]) {
        const addr = want.get(name)!;
        assertEquals(syms.lookup(addr)?.name, name);
        assertEquals(syms.lookup(addr + 1)?.name, name);
        assertEquals(syms.byName(name)?.start, addr);
      }
      // static functions are in .symtab only; gcc may rename them (.isra/.constprop)
      const helper = [...want.keys()].find((n) =>
        n.startsWith("static_helper")
      );
      if (helper) assertEquals(syms.lookup(want.get(helper)!)?.name, helper);
      assertEquals(syms.byName("data_object"), undefined);
    });
  }
});

Deno.test("symbols() of a stripped file falls back to .dynsym", async () => {
  const f = await buildNativeFixtures();
  const elf = load(f.symbolsStripped);
  assertEquals(elf.section(".symtab"), undefined);
  assertEquals(elf.symbols().byName("global_one"), undefined);
  const libc = "/usr/lib/x86_64-linux-gnu/libc.so.6";
  const want = await nmFunctions(libc, true);
  const syms = parseElf(new FileSource(libc)).symbols();
  for (const name of ["malloc", "free", "write", "qsort"]) {
    const addr = want.get(name)!;
    const hit = syms.lookup(addr + 2)!;
    assertEquals(hit.start, addr, name);
  }
});

Deno.test("gnuBuildId() and debugLink() agree with readelf", async () => {
  const f = await buildNativeFixtures();
  for (
    const path of [
      f.symbolsPie,
      f.symbolsStripped,
      "/usr/lib/x86_64-linux-gnu/libc.so.6",
    ]
  ) {
    const notes = await capture("readelf", ["-n", path]);
    const want = /Build ID: ([0-9a-f]+)/.exec(notes)?.[1];
    assertEquals(parseElf(new FileSource(path)).gnuBuildId(), want);
  }
  const split = load(f.symbolsSplit);
  assertEquals(split.debugLink()?.file, "symbols_split.debug");
  assertEquals(split.goBuildId(), undefined);
});

Deno.test("findDebugFile() follows the debuglink into .debug/ and /usr/lib/debug/.build-id", async () => {
  const f = await buildNativeFixtures();
  const split = load(f.symbolsSplit);
  // the build-id path under a root that lacks it is skipped
  assertEquals(
    findDebugFile(split, f.symbolsSplit, { debugRoot: `${f.dir}/nowhere` }),
    `${f.dir}/.debug/symbols_split.debug`,
  );
  const dbg = load(`${f.dir}/.debug/symbols_split.debug`);
  assertEquals(dbg.gnuBuildId(), split.gnuBuildId());
  assert(dbg.symbols().byName("global_one") !== undefined);
  const libc = "/usr/lib/x86_64-linux-gnu/libc.so.6";
  const libcElf = parseElf(new FileSource(libc));
  const found = findDebugFile(libcElf, libc);
  if (found !== undefined) { // present when libc6-dbg is installed
    const id = libcElf.gnuBuildId()!;
    assertEquals(
      found,
      `/usr/lib/debug/.build-id/${id.slice(0, 2)}/${id.slice(2)}.debug`,
    );
  }
  assertEquals(
    findDebugFile(load(f.symbolsPie), f.symbolsPie, {
      debugRoot: "/nonexistent",
    }),
    undefined,
  );
});

Deno.test("loadBias() maps a live PIE's runtime address to its symbol", async () => {
  const f = await buildNativeFixtures();
  const child = new Deno.Command(f.symbolsPie, {
    args: ["wait"],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  try {
    const reader = child.stdout.getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    reader.releaseLock();
    const runtime = parseInt(text.trim(), 16);
    const maps = await Deno.readTextFile(`/proc/${child.pid}/maps`);
    const elf = load(f.symbolsPie);
    let hit: string | undefined;
    for (const line of maps.split("\n")) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ ([0-9a-f]+) \S+ \d+\s+(.*)$/.exec(
        line,
      );
      if (!m || m[4] !== f.symbolsPie) continue;
      const start = parseInt(m[1]!, 16), end = parseInt(m[2]!, 16);
      if (runtime < start || runtime >= end) continue;
      const bias = loadBias(elf, start, parseInt(m[3]!, 16));
      assert(bias !== undefined && bias > 0);
      hit = elf.symbols().lookup(runtime - bias)?.name;
    }
    assertEquals(hit, "global_one");
  } finally {
    await child.stdin.close();
    await child.status;
    await child.stdout.cancel().catch(() => {});
  }
});

Deno.test("ProcessMemorySource lets parseElf() read the vDSO", async () => {
  const maps = await Deno.readTextFile("/proc/self/maps");
  const line = maps.split("\n").find((l) => l.endsWith("[vdso]"));
  if (line === undefined) return; // no vDSO on this kernel
  const [s, e] = line.split(" ")[0]!.split("-").map((x) => parseInt(x, 16));
  using mem = new ProcessMemorySource(Deno.pid, s!, e! - s!);
  const vdso = parseElf(mem);
  assertEquals(vdso.type, ET_DYN);
  const syms = vdso.symbols();
  const cg = syms.byName("__vdso_clock_gettime") ??
    syms.byName("clock_gettime");
  assert(cg !== undefined);
  assertEquals(
    loadBias(vdso, s!, 0),
    s! - vdso.programHeaders.find((p) => p.type === 1)!.vaddr,
  );
  assertThrows(() => mem.read(e! - s!, 1), BinaryFormatError);
});

Deno.test("parseElf() rejects non-ELF input with BinaryFormatError", () => {
  assertThrows(
    () => parseElf(new BytesSource(new Uint8Array(10))),
    BinaryFormatError,
  );
  assertThrows(
    () => parseElf(new BytesSource(new Uint8Array(64))),
    BinaryFormatError,
  );
  const bytes = Deno.readFileSync("/usr/bin/true").slice(0, 64);
  assertThrows(() => parseElf(new BytesSource(bytes)), BinaryFormatError);
});
