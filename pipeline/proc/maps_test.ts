import { assertEquals } from "../../tests/assert.ts";
import { findMapping, parseMaps } from "./maps.ts";

const SAMPLE = `55a4f2a00000-55a4f2a02000 r--p 00000000 08:01 131 /usr/bin/cat
55a4f2a02000-55a4f2a07000 r-xp 00002000 08:01 131 /usr/bin/cat
7f1c3c000000-7f1c3c021000 rw-p 00000000 00:00 0 
7f1c3e228000-7f1c3e3bd000 r-xp 00028000 fe:01 2230 /usr/lib/x86_64-linux-gnu/libc.so.6
7f1c3e400000-7f1c3e401000 r-xp 00000000 08:01 99 /tmp/my prog (deleted)
7ffd1a9f0000-7ffd1aa11000 rw-p 00000000 00:00 0                          [stack]
7ffd1ab9c000-7ffd1ab9e000 r-xp 00000000 00:00 0                          [vdso]
garbage line
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
`;

Deno.test("parseMaps() reads every field of well-formed lines", () => {
  const { entries, malformed } = parseMaps(SAMPLE);
  assertEquals(malformed, 1);
  assertEquals(entries.length, 8);
  const libc = entries[3]!;
  assertEquals(libc.start, 0x7f1c3e228000);
  assertEquals(libc.end, 0x7f1c3e3bd000);
  assertEquals(libc.perms, "r-xp");
  assertEquals(libc.offset, 0x28000);
  assertEquals(libc.dev, "fe:01");
  assertEquals(libc.inode, 2230);
  assertEquals(libc.path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
  assertEquals(entries[2]!.path, "");
});

Deno.test("parseMaps() keeps spaces in paths and strips the deleted marker", () => {
  const e = parseMaps(SAMPLE).entries[4]!;
  assertEquals(e.path, "/tmp/my prog");
  assertEquals(e.deleted, true);
});

Deno.test("parseMaps() reads pseudo paths without padding", () => {
  const { entries } = parseMaps(SAMPLE);
  assertEquals(entries[5]!.path, "[stack]");
  assertEquals(entries[6]!.path, "[vdso]");
});

Deno.test("findMapping() finds the containing mapping or nothing", () => {
  const { entries } = parseMaps(SAMPLE);
  assertEquals(findMapping(entries, 0x55a4f2a02000)?.perms, "r-xp");
  assertEquals(findMapping(entries, 0x55a4f2a06fff)?.offset, 0x2000);
  assertEquals(findMapping(entries, 0x55a4f2a07000), undefined);
  assertEquals(findMapping(entries, 0x1000), undefined);
  assertEquals(findMapping(entries, 0x7ffd1a9f0010)?.path, "[stack]");
});

Deno.test("parseMaps() reads this process's own maps", () => {
  const { entries, malformed } = parseMaps(
    Deno.readTextFileSync("/proc/self/maps"),
  );
  assertEquals(malformed, 0);
  assertEquals(entries.some((e) => e.path === "[stack]"), true);
});
