import fc from "fast-check";
import { BinaryFormatError, BytesSource } from "../binary/mod.ts";
import { buildNativeFixtures } from "../../tests/fixtures/native/build.ts";
import { parseElf } from "./mod.ts";

/** Runs everything a consumer may call; only BinaryFormatError may escape. */
function exercise(bytes: Uint8Array): void {
  try {
    const elf = parseElf(new BytesSource(bytes, "fuzz"));
    elf.gnuBuildId();
    elf.goBuildId();
    elf.debugLink();
    const syms = elf.symbols();
    syms.lookup(0x1139);
    syms.byName("main");
    for (const s of elf.sections) elf.sectionBytes(s);
  } catch (err) {
    if (!(err instanceof BinaryFormatError)) throw err;
  }
}

Deno.test("parseElf() throws only BinaryFormatError on corrupted bytes", async () => {
  const f = await buildNativeFixtures();
  const base = Deno.readFileSync(f.symbolsStripped);
  // Corruptions are concentrated where the structure is: headers and tables.
  const hot = fc.oneof(
    fc.integer({ min: 0, max: 127 }),
    fc.integer({ min: 0, max: base.length - 1 }),
    fc.integer({ min: Math.max(0, base.length - 2048), max: base.length - 1 }),
  );
  fc.assert(
    fc.property(
      fc.array(fc.tuple(hot, fc.integer({ min: 0, max: 255 })), {
        maxLength: 16,
      }),
      fc.integer({ min: 0, max: base.length }),
      (edits, cut) => {
        const bytes = base.slice(0, Math.max(cut, 16));
        for (const [i, v] of edits) if (i < bytes.length) bytes[i] = v;
        exercise(bytes);
      },
    ),
    { numRuns: 400 },
  );
});

Deno.test("parseElf() survives random bytes behind a valid ident", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 512 }), (tail) => {
      const bytes = new Uint8Array(16 + tail.length);
      bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
      bytes.set(tail, 16);
      exercise(bytes);
    }),
    { numRuns: 500 },
  );
});
