import fc from "fast-check";
import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { BinaryFormatError, BytesSource } from "../binary/mod.ts";
import { parseElf } from "../elf/mod.ts";
import { GoPclntab, parseGoPclntab, readGoBuildInfo } from "./mod.ts";
import { newestChainFixture } from "./_test_fixture.ts";

const path = await newestChainFixture();
const fileBytes = path ? Deno.readFileSync(path) : undefined;

Deno.test("GoPclntab refuses pre-1.18 magics with a clear message", () => {
  const b = new Uint8Array(128);
  new DataView(b.buffer).setUint32(0, 0xfffffffa, true);
  b[6] = 1;
  b[7] = 8;
  assertThrows(
    () => new GoPclntab(b, 0),
    BinaryFormatError,
    "Go 1.16–1.17 format, which denoprof does not support",
  );
  new DataView(b.buffer).setUint32(0, 0xfffffffb, true);
  assertThrows(() => new GoPclntab(b, 0), BinaryFormatError, "Go 1.2–1.15");
  new DataView(b.buffer).setUint32(0, 0x12345678, true);
  assertThrows(() => new GoPclntab(b, 0), BinaryFormatError, "unknown magic");
});

Deno.test({
  name: "readGoBuildInfo() returns undefined for a non-Go file",
  fn() {
    const self = Deno.readFileSync("/bin/true");
    assertEquals(readGoBuildInfo(parseElf(new BytesSource(self))), undefined);
  },
});

Deno.test({
  name: "symbolize() caches per pc and returns frozen frames",
  ignore: fileBytes === undefined,
  fn() {
    const tab = parseGoPclntab(parseElf(new BytesSource(fileBytes!)));
    const i = [...Array(tab.nfunc).keys()].find((k) =>
      tab.funcName(k) === "main.c"
    )!;
    const pc = tab.funcEntry(i) + 4;
    const a = tab.symbolize(pc);
    assert(Object.isFrozen(a) && Object.isFrozen(a[0]));
    assertEquals(tab.symbolize(pc), a);
    assertEquals(a[0]!.functionName, "main.c");
    assertEquals(tab.symbolize(tab.textEnd + 10), []);
    assertEquals(tab.findFunc(tab.textStart - 1), -1);
  },
});

/** Flips `n` bytes of a copy of `b` inside `[lo, hi)`. */
function corrupt(
  b: Uint8Array,
  lo: number,
  hi: number,
  edits: [number, number][],
): Uint8Array {
  const c = b.slice();
  for (const [pos, val] of edits) c[lo + (pos % Math.max(1, hi - lo))] = val;
  return c;
}

Deno.test({
  name:
    "gopclntab and buildinfo parsing of corrupted bytes throws only BinaryFormatError",
  ignore: fileBytes === undefined,
  fn() {
    const elf = parseElf(new BytesSource(fileBytes!));
    const sec = elf.section(".gopclntab") ??
      elf.section(".data.rel.ro.gopclntab")!;
    const bi = elf.section(".go.buildinfo")!;
    const good = parseGoPclntab(elf);
    const pcs = [0, 1, 2, 3, 4, 5, 6, 7].map((k) =>
      good.textStart + Math.floor((k / 8) * (good.textEnd - good.textStart))
    );
    const edit = fc.array(
      fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })),
      { minLength: 1, maxLength: 16 },
    );
    // Header and functab region, then anywhere in the table.
    for (const span of [256, 4096, sec.size]) {
      fc.assert(
        fc.property(edit, (edits) => {
          const c = corrupt(fileBytes!, sec.offset, sec.offset + span, edits);
          try {
            const tab = parseGoPclntab(parseElf(new BytesSource(c)));
            for (const pc of pcs) {
              tab.symbolize(pc);
              const i = tab.findFunc(pc);
              if (i >= 0) tab.pcsp(i, pc);
            }
          } catch (err) {
            if (!(err instanceof BinaryFormatError)) throw err;
          }
        }),
        { numRuns: 60, seed: 42 },
      );
    }
    fc.assert(
      fc.property(edit, (edits) => {
        const c = corrupt(fileBytes!, bi.offset, bi.offset + 64, edits);
        try {
          readGoBuildInfo(parseElf(new BytesSource(c)));
        } catch (err) {
          if (!(err instanceof BinaryFormatError)) throw err;
        }
      }),
      { numRuns: 200, seed: 7 },
    );
  },
});
