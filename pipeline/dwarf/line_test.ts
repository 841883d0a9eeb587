import fc from "fast-check";
import { assert, assertEquals } from "../../tests/assert.ts";
import { BinaryFormatError, BytesSource, FileSource } from "../binary/mod.ts";
import { parseElf } from "../elf/mod.ts";
import {
  buildNativeFixtures,
  capture,
} from "../../tests/fixtures/native/build.ts";
import { buildLineTable } from "./mod.ts";

Deno.test("buildLineTable() agrees with addr2line on a -g binary", async () => {
  const f = await buildNativeFixtures();
  const elf = parseElf(new FileSource(f.chain));
  const table = buildLineTable(elf)!;
  assert(table.length > 0);
  let checked = 0;
  for (const name of ["a", "b", "main"]) {
    const sym = elf.symbols().byName(name)!;
    for (let off = 0; off < sym.size; off += 3) {
      const addr = sym.start + off;
      const out =
        (await capture("addr2line", ["-e", f.chain, addr.toString(16)])).trim();
      const [file, line] = out.split(":");
      if (line === undefined || line.startsWith("?")) continue;
      const got = table.lookup(addr);
      assertEquals(
        `${got?.file}:${got?.line}`,
        `${file}:${Number.parseInt(line)}`,
        `at ${addr.toString(16)}`,
      );
      checked++;
    }
  }
  assert(checked > 5);
});

Deno.test("buildLineTable() reads DWARF 5 line tables of libc's debug file", () => {
  const libc = parseElf(new FileSource("/usr/lib/x86_64-linux-gnu/libc.so.6"));
  const id = libc.gnuBuildId()!;
  const path = `/usr/lib/debug/.build-id/${id.slice(0, 2)}/${
    id.slice(2)
  }.debug`;
  try {
    Deno.statSync(path);
  } catch {
    return; // libc6-dbg not installed
  }
  const dbg = parseElf(new FileSource(path));
  const table = buildLineTable(dbg);
  if (table === undefined) return; // debug file without line info
  const malloc = libc.symbols().byName("malloc")!;
  const pos = table.lookup(malloc.start);
  assert(
    pos !== undefined && pos.file.endsWith("malloc.c"),
    JSON.stringify(pos),
  );
});

Deno.test("buildLineTable() throws nothing but BinaryFormatError on corrupted input", async () => {
  const f = await buildNativeFixtures();
  const base = Deno.readFileSync(f.chain);
  const sec = parseElf(new BytesSource(base)).section(".debug_line")!;
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(fc.nat(sec.size - 1), fc.integer({ min: 0, max: 255 })),
        { maxLength: 12 },
      ),
      (edits) => {
        const bytes = base.slice();
        for (const [i, v] of edits) bytes[sec.offset + i] = v;
        try {
          buildLineTable(parseElf(new BytesSource(bytes)))?.lookup(0x1139);
        } catch (err) {
          if (!(err instanceof BinaryFormatError)) throw err;
        }
      },
    ),
    { numRuns: 300 },
  );
});
