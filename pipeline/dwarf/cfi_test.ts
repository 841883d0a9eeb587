import fc from "fast-check";
import { assert, assertEquals } from "../../tests/assert.ts";
import { BinaryFormatError, BytesSource, FileSource } from "../binary/mod.ts";
import { parseElf } from "../elf/mod.ts";
import { buildNativeFixtures } from "../../tests/fixtures/native/build.ts";
import {
  buildUnwindTable,
  CfaKind,
  parseCfiSection,
  RegKind,
  X86_64,
} from "./mod.ts";

/**
 * Compares every row of `readelf -wF` (the interpreted CFA table) with our
 * table: CFA register+offset (or "exp"), rbp and return address rules.
 */
async function compareWithReadelf(path: string): Promise<number> {
  const table = buildUnwindTable(parseElf(new FileSource(path)));
  // readelf may exit non-zero on warnings about unrelated sections.
  const out = await new Deno.Command("readelf", {
    args: ["-wF", path],
    stdout: "piped",
    stderr: "null",
  })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  let cols: string[] = [];
  let checked = 0;
  let inFde = false;
  let fdeEnd = 0;
  for (const line of text.split("\n")) {
    const fde = / FDE .*pc=[0-9a-f]+\.\.([0-9a-f]+)/.exec(line);
    if (fde) {
      inFde = true;
      fdeEnd = parseInt(fde[1]!, 16);
    } else if (/ CIE /.test(line)) inFde = false;
    if (!inFde) continue;
    if (line.trim().startsWith("LOC")) {
      cols = line.trim().split(/\s+/);
      continue;
    }
    const m = /^([0-9a-f]{16}) (.*)$/.exec(line);
    if (!m || cols.length === 0) continue;
    // "r1 (rdx)" (a register rule) is one value.
    const vals = m[2]!.trim().match(/r\d+ \(\w+\)|\S+/g) ?? [];
    const pc = parseInt(m[1]!, 16);
    if (pc >= fdeEnd) continue; // readelf prints a row at the end of an FDE that advanced past it
    const row = table.find(pc);
    assert(row >= 0, `no row at ${pc.toString(16)}`);
    const cfa = vals[0]!;
    const cm = /^(rsp|rbp)\+(\d+)$/.exec(cfa);
    if (cm) {
      assertEquals(
        table.cfaKind[row],
        CfaKind.REG_OFFSET,
        `cfa kind at ${m[1]}`,
      );
      assertEquals(
        table.cfaReg[row],
        cm[1] === "rsp" ? 7 : 6,
        `cfa reg at ${m[1]}`,
      );
      assertEquals(
        table.cfaOffset[row],
        Number(cm[2]),
        `cfa offset at ${m[1]}`,
      );
    } else if (cfa === "exp") {
      assert(
        table.cfaKind[row] !== CfaKind.REG_OFFSET &&
          table.cfaKind[row] !== CfaKind.NONE,
      );
    }
    for (
      const [name, kinds, offs] of [["ra", table.raKind, table.raOffset], [
        "rbp",
        table.fpKind,
        table.fpOffset,
      ]] as const
    ) {
      const i = cols.indexOf(name);
      const v = i < 0 ? "u" : vals[i - 1];
      if (v === undefined) continue;
      const om = /^c([+-]\d+)$/.exec(v);
      if (om) {
        assertEquals(kinds[row], RegKind.OFFSET, `${name} kind at ${m[1]}`);
        assertEquals(offs[row], Number(om[1]), `${name} offset at ${m[1]}`);
      } else if (v === "u") {
        assert(
          kinds[row] === RegKind.SAME || kinds[row] === RegKind.UNDEFINED,
          `${name} at ${m[1]}`,
        );
      } else if (v === "s") assertEquals(kinds[row], RegKind.SAME);
      else if (/^r\d+ /.test(v)) {
        assertEquals(kinds[row], RegKind.REGISTER, `${name} kind at ${m[1]}`);
        assertEquals(
          offs[row],
          Number.parseInt(v.slice(1)),
          `${name} register at ${m[1]}`,
        );
      }
    }
    checked++;
  }
  return checked;
}

Deno.test("buildUnwindTable() agrees with readelf -wF row by row", async (t) => {
  const f = await buildNativeFixtures();
  for (
    const path of [f.chain, f.leafLib, "/usr/lib/x86_64-linux-gnu/libc.so.6"]
  ) {
    await t.step(path.split("/").pop()!, async () => {
      const n = await compareWithReadelf(path);
      assert(n >= 2, `only ${n} rows compared`);
    });
  }
});

Deno.test("buildUnwindTable() recognizes the PLT expression and signal frames", async () => {
  const f = await buildNativeFixtures();
  const chain = parseElf(new FileSource(f.chain));
  const plt = chain.section(".plt")!;
  const t = buildUnwindTable(chain);
  const row = t.find(plt.addr + 16);
  assertEquals(t.cfaKind[row], CfaKind.PLT);
  assertEquals(t.cfaOffset[row], 8);
  assertEquals(t.cfaReg[row], 11);
  // _start's CIE marks the return address undefined: the outermost frame.
  assertEquals(t.raKind[t.find(chain.entry)], RegKind.UNDEFINED);
  const libc = parseElf(new FileSource("/usr/lib/x86_64-linux-gnu/libc.so.6"));
  const lt = buildUnwindTable(libc);
  const rt = libc.symbols().byName("__restore_rt");
  if (rt !== undefined) {
    assertEquals(lt.cfaKind[lt.find(rt.start - 1)], CfaKind.SIGNAL);
  }
  assertEquals(lt.skipped, 0);
});

Deno.test("parseCfiSection() throws nothing but BinaryFormatError on corrupted .eh_frame", async () => {
  const f = await buildNativeFixtures();
  const elf = parseElf(new FileSource(f.leafLib));
  const eh = elf.sectionBytes(elf.section(".eh_frame")!).slice();
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(fc.nat(eh.length - 1), fc.integer({ min: 0, max: 255 })),
        { maxLength: 12 },
      ),
      fc.nat(eh.length),
      (edits, cut) => {
        const bytes = eh.slice(0, cut);
        for (const [i, v] of edits) if (i < bytes.length) bytes[i] = v;
        for (const ehFrame of [true, false]) {
          try {
            parseCfiSection(bytes, {
              ehFrame,
              vaddr: 0x1000,
              littleEndian: true,
              arch: X86_64,
            });
          } catch (err) {
            if (!(err instanceof BinaryFormatError)) throw err;
          }
        }
      },
    ),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
      const elfBytes = Deno.readFileSync(f.leafLib);
      const sec = elf.section(".eh_frame")!;
      elfBytes.set(
        bytes.subarray(0, Math.min(bytes.length, sec.size)),
        sec.offset,
      );
      try {
        buildUnwindTable(parseElf(new BytesSource(elfBytes)));
      } catch (err) {
        if (!(err instanceof BinaryFormatError)) throw err;
      }
    }),
    { numRuns: 100 },
  );
});
