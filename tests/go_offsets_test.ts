/**
 * The per-version runtime offset table against the DWARF of real binaries of
 * every Go release in the matrix, and offsets of stripped binaries.
 */
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { FileSource } from "../pipeline/binary/mod.ts";
import { parseElf } from "../pipeline/elf/mod.ts";
import {
  goOffsetsFromDwarf,
  goOffsetsFromTable,
  goRuntimeOffsets,
  readDwarfStructs,
  readGoBuildInfo,
} from "../pipeline/golang/mod.ts";
import { buildFixture, requireToolchains } from "./fixtures/go/toolchains.ts";

for (const tc of requireToolchains()) {
  Deno.test(`go${tc.version}: offset table matches DWARF (pure Go and cgo)`, async () => {
    for (const program of ["chain", "cgo"]) {
      using src = new FileSource(await buildFixture(tc, program, "default"));
      const elf = parseElf(src);
      const info = readGoBuildInfo(elf)!;
      const dwarf = goOffsetsFromDwarf(elf);
      assert(dwarf !== undefined, "no DWARF offsets");
      const { source: _a, ...fromDwarf } = dwarf;
      const { source: _b, ...fromTable } = goOffsetsFromTable(info);
      assertEquals(fromTable, fromDwarf, `go${tc.version} ${program}`);
    }
  });

  Deno.test(`go${tc.version}: moduledata text and gofunc offsets match DWARF`, async () => {
    using src = new FileSource(await buildFixture(tc, "chain", "default"));
    const md = readDwarfStructs(parseElf(src), ["runtime.moduledata"])!
      .get("runtime.moduledata")!.members;
    assertEquals(md.get("pcHeader"), 0);
    assertEquals(md.get("text"), 176);
    assertEquals(md.get("gofunc"), tc.version === "1.19" ? 304 : 320);
  });

  Deno.test(`go${tc.version}: stripped binary falls back to the table`, async () => {
    using src = new FileSource(await buildFixture(tc, "chain", "stripped"));
    const elf = parseElf(src);
    assertEquals(goOffsetsFromDwarf(elf), undefined);
    assertEquals(goRuntimeOffsets(elf, readGoBuildInfo(elf)!).source, "table");
  });
}

Deno.test("goOffsetsFromTable() refuses unknown releases", () => {
  assertThrows(
    () => goOffsetsFromTable({ major: 1, minor: 27, patch: 0 }),
    RangeError,
    "table covers go1.19 to go1.26",
  );
  assertThrows(
    () => goOffsetsFromTable({ major: 1, minor: 17, patch: 0 }),
    RangeError,
  );
});
