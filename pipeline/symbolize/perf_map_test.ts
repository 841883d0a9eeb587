import { assertEquals } from "../../tests/assert.ts";
import { PerfMap, PerfMaps } from "./perf_map.ts";

Deno.test("PerfMap.parse() reads entries, skips bad lines, keeps the latest per start", () => {
  const m = PerfMap.parse(
    [
      "1000 10 first",
      "garbage",
      "2000 zz bad size",
      "3000 0 empty",
      "4000 20 JS:*hot /app/main.js:3",
      "1000 8 recompiled",
      "",
    ].join("\n"),
  );
  assertEquals(m.size, 2);
  assertEquals(m.lookup(0x1004), "recompiled");
  assertEquals(m.lookup(0x1008), undefined);
  assertEquals(m.lookup(0x401f), "JS:*hot /app/main.js:3");
  assertEquals(m.lookup(0x4020), undefined);
  assertEquals(m.lookup(0x500), undefined);
});

Deno.test("PerfMaps re-reads a changed map after a miss, at most once per refresh period", async () => {
  const root = await Deno.makeTempDir();
  const pid = 4242;
  await Deno.mkdir(`${root}/${pid}/root/tmp`, { recursive: true });
  const path = `${root}/${pid}/root/tmp/perf-${pid}.map`;
  await Deno.writeTextFile(path, "1000 10 old\n");
  const maps = new PerfMaps({ procRoot: root, refreshMs: 0 });
  assertEquals(maps.lookup(pid, 0x1001), "old");
  assertEquals(maps.lookup(pid, 0x2001), undefined);
  await Deno.writeTextFile(path, "1000 10 old\n2000 10 new\n");
  assertEquals(maps.lookup(pid, 0x2001), "new");
  const slow = new PerfMaps({ procRoot: root, refreshMs: 60_000 });
  assertEquals(slow.lookup(pid, 0x3001), undefined);
  await Deno.writeTextFile(path, "3000 10 later\n");
  // Within the refresh period the miss is not re-read.
  assertEquals(slow.lookup(pid, 0x3001), undefined);
  assertEquals(slow.stats.reads, 1);
  const tiny = new PerfMaps({ procRoot: root, refreshMs: 0, maxBytes: 4 });
  assertEquals(tiny.lookup(pid, 0x3001), undefined);
  assertEquals(tiny.stats.tooLarge, 1);
  await Deno.remove(root, { recursive: true });
});
