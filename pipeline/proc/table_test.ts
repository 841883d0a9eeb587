import { gunzipSync } from "node:zlib";
import { assert, assertEquals } from "../../tests/assert.ts";
import { BytesSource } from "../binary/mod.ts";
import type { MapEntry } from "./maps.ts";
import {
  ObjectCache,
  type ObjectFile,
  type OpenFailure,
} from "./object_cache.ts";
import type { ProcFacts } from "./process_info.ts";
import { ProcessTable, type ProcSource } from "./table.ts";

const LIB =
  "7f0000001000-7f0000002000 r-xp 00001000 08:01 42 /lib/libleaf.so\n";
const LIB2 =
  "7f0000100000-7f0000101000 r-xp 00001000 08:01 43 /lib/libtwo.so\n";

/** libleaf.so from the committed recording: a real, small shared object. */
function libleaf(): Uint8Array {
  const dir =
    new URL("../../tests/fixtures/recordings/native-o2/", import.meta.url)
      .pathname;
  const index = JSON.parse(
    Deno.readTextFileSync(`${dir}objects.json`),
  ) as Record<string, { path: string }>;
  const id = Object.keys(index).find((k) =>
    index[k]!.path.endsWith("/libleaf.so")
  )!;
  return gunzipSync(Deno.readFileSync(`${dir}objects/${id}.gz`));
}

/** A scripted process source: tests change maps, facts and the clock. */
class FakeSource implements ProcSource {
  now = 0;
  maps = new Map<number, string>();
  facts = new Map<number, ProcFacts>();
  reads: number[] = [];
  opens: string[] = [];
  files = new ObjectCache();
  elf = libleaf();
  readMaps(pid: number): string | undefined {
    this.reads.push(pid);
    return this.maps.get(pid);
  }
  readFacts(pid: number): ProcFacts {
    return this.facts.get(pid) ?? {};
  }
  openMapped(pid: number, entry: MapEntry): ObjectFile | OpenFailure {
    this.opens.push(`${pid}:${entry.path}`);
    if (entry.path !== "/lib/libleaf.so") return "missing";
    return this.files.get(
      `${entry.dev}:${entry.inode}`,
      () => ({ source: new BytesSource(this.elf), path: entry.path }),
    );
  }
  nowMs(): number {
    return this.now;
  }
}

function setup(options: { maxProcesses?: number } = {}) {
  const src = new FakeSource();
  src.maps.set(1, LIB);
  src.facts.set(1, { comm: "one", exe: "/bin/one", startTime: 100 });
  return {
    src,
    table: new ProcessTable(src, { refreshIntervalMs: 500, ...options }),
  };
}

Deno.test("ProcessTable.resolve() opens the module once and computes its load bias", () => {
  const { src, table } = setup();
  const p = table.get(1)!;
  const m = table.resolve(p, 0x7f0000001234)!;
  assert(m.file !== undefined);
  assertEquals(m.failure, undefined);
  assertEquals(m.bias, 0x7f0000000000); // PT_LOAD vaddr 0x1000 at file offset 0x1000
  assertEquals(table.resolve(p, 0x7f0000001800), m);
  assertEquals(src.opens, ["1:/lib/libleaf.so"]);
  assertEquals(table.stats.added, 1);
});

Deno.test("ProcessTable.resolve() re-reads the maps on an unknown pc, at most once per interval", async (t) => {
  const { src, table } = setup();
  const p = table.get(1)!;
  assertEquals(table.stats.mapRefreshes, 1);
  await t.step("an unknown pc within the interval does not re-read", () => {
    src.maps.set(1, LIB + LIB2);
    src.now = 100;
    assertEquals(table.resolve(p, 0x7f0000100010), undefined);
    assertEquals(table.stats.mapRefreshes, 1);
    assertEquals(table.stats.unmappedPcs, 1);
  });
  await t.step(
    "after the interval it re-reads and finds the new mapping",
    () => {
      src.now = 500;
      const m = table.resolve(p, 0x7f0000100010)!;
      assertEquals(m.entry.path, "/lib/libtwo.so");
      assertEquals(m.failure, "missing");
      assertEquals(table.stats.mapRefreshes, 2);
    },
  );
  await t.step(
    "a pc in no mapping at all costs one re-read per interval",
    () => {
      for (let i = 0; i < 100; i++) table.resolve(p, 0x1000);
      assertEquals(table.stats.mapRefreshes, 2);
      src.now = 1000;
      table.resolve(p, 0x1000);
      table.resolve(p, 0x1000);
      assertEquals(table.stats.mapRefreshes, 3);
      assertEquals(table.stats.unmappedPcs, 1 + 102);
    },
  );
});

Deno.test("ProcessTable.sweep() rebuilds a reused pid and an exec, and drops exited processes", async (t) => {
  const { src, table } = setup();
  src.maps.set(2, LIB2);
  src.facts.set(2, { comm: "two", exe: "/bin/two", startTime: 200 });
  const one = table.get(1)!;
  table.get(2);
  await t.step("nothing changed: same states", () => {
    table.sweep();
    assertEquals(table.peek(1), one);
    assertEquals(table.stats.replaced, 0);
  });
  await t.step(
    "pid reuse: a new start time gives a fresh state and map",
    () => {
      src.facts.set(1, { comm: "other", exe: "/bin/one", startTime: 999 });
      src.maps.set(1, LIB2);
      const reads = src.reads.length;
      table.sweep();
      const fresh = table.peek(1)!;
      assert(fresh !== one);
      assertEquals(fresh.facts.startTime, 999);
      assertEquals(fresh.entries[0]!.path, "/lib/libtwo.so");
      assertEquals(src.reads.length, reads + 1);
      assertEquals(table.stats.replaced, 1);
    },
  );
  await t.step("exec: same start time, another executable", () => {
    const before = table.peek(2)!;
    src.facts.set(2, { comm: "two", exe: "/bin/three", startTime: 200 });
    table.sweep();
    assert(table.peek(2) !== before);
    assertEquals(table.peek(2)!.facts.exe, "/bin/three");
    assertEquals(table.stats.replaced, 2);
  });
  await t.step("exit: no facts any more, the state is dropped", () => {
    src.facts.delete(2);
    table.sweep();
    assertEquals(table.peek(2), undefined);
    assertEquals(table.size, 1);
    assertEquals(table.stats.exited, 1);
  });
});

Deno.test("ProcessTable.get() is bounded by maxProcesses and counts overflow", () => {
  const { src, table } = setup({ maxProcesses: 2 });
  for (const pid of [2, 3]) src.facts.set(pid, { startTime: pid });
  assert(table.get(1) !== undefined);
  assert(table.get(2) !== undefined);
  assertEquals(table.get(3), undefined);
  assertEquals(table.stats.overflow, 1);
  assertEquals(table.size, 2);
  // An exit frees a slot.
  src.facts.delete(2);
  table.sweep();
  assert(table.get(3) !== undefined);
});

Deno.test("ProcessTable keeps a process whose maps cannot be read, without mappings", () => {
  const src = new FakeSource();
  src.facts.set(5, { startTime: 1 });
  const table = new ProcessTable(src);
  const p = table.get(5)!;
  assertEquals(p.mapsKnown, false);
  assertEquals(table.resolve(p, 0x1234), undefined);
});
