import { assert, assertEquals } from "../../tests/assert.ts";
import { FileSource } from "../binary/mod.ts";
import {
  type ElfFile,
  parseElf,
  PT_GNU_EH_FRAME,
  PT_LOAD,
} from "../elf/mod.ts";
import { buildNativeFixtures } from "../../tests/fixtures/native/build.ts";
import {
  buildFixture,
  requireToolchains,
} from "../../tests/fixtures/go/toolchains.ts";
import {
  buildUnwindTable,
  LazyUnwindTable,
  locateEhFrame,
  openUnwindRules,
  parseCfiSection,
  sectionData,
  type UnwindRules,
  UnwindTable,
} from "./mod.ts";
import { archOf } from "./unwind_table.ts";

const LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6";
/** Sampled pcs per executable segment. */
const SAMPLES = 20_000;

function rule(t: UnwindRules, pc: number): string {
  const i = t.find(pc);
  return i < 0 ? "none" : [
    t.cfaKind[i],
    t.cfaReg[i],
    t.cfaOffset[i],
    t.raKind[i],
    t.raOffset[i],
    t.fpKind[i],
    t.fpOffset[i],
  ].join(",");
}

/** Every FDE start and end (both sections) and every row boundary of the full table. */
function boundaries(elf: ElfFile, full: UnwindTable): number[] {
  const pcs: number[] = [];
  const arch = archOf(elf);
  const base = {
    littleEndian: elf.littleEndian,
    arch,
    textBase: elf.section(".text")?.addr ?? 0,
    dataBase: elf.section(".got")?.addr ?? 0,
  };
  const eh = locateEhFrame(elf);
  const fdes = eh === undefined
    ? []
    : parseCfiSection(eh.bytes, { ...base, ehFrame: true, vaddr: eh.vaddr })
      .fdes;
  const df = elf.section(".debug_frame");
  if (df !== undefined) {
    fdes.push(
      ...parseCfiSection(sectionData(elf, df), {
        ...base,
        ehFrame: false,
        vaddr: 0,
      }).fdes,
    );
  }
  for (const f of fdes) pcs.push(f.start, f.start - 1, f.end, f.end - 1);
  for (let i = 0; i < full.length; i++) pcs.push(full.pc[i]!, full.pc[i]! - 1);
  return pcs;
}

/** A deterministic spread of pcs over the executable segments (and a bit past them). */
function sampled(elf: ElfFile, n: number): number[] {
  const pcs: number[] = [];
  let seed = 0x9e3779b9;
  for (const ph of elf.programHeaders) {
    if (ph.type !== PT_LOAD || (ph.flags & 1) === 0) continue;
    const span = ph.memsz + 4096;
    for (let k = 0; k < n; k++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      pcs.push(ph.vaddr + (seed % span));
    }
  }
  return pcs;
}

/**
 * Asserts that the lazy lookup and the full table give the same rule at
 * every boundary and sampled pc, with a small LRU so evictions happen.
 *
 * @returns How many pcs were compared and whether the lazy path was taken.
 */
function compare(path: string): { pcs: number; lazy: boolean } {
  const elf = parseElf(new FileSource(path));
  const full = buildUnwindTable(elf);
  const rules = openUnwindRules(elf, { fdeCache: 64 });
  const pcs = [...boundaries(elf, full), ...sampled(elf, SAMPLES)];
  let bad = 0;
  const examples: string[] = [];
  for (const pc of pcs) {
    const a = rule(full, pc);
    const b = rule(rules, pc);
    if (a !== b) {
      if (bad++ < 5) examples.push(`0x${pc.toString(16)}: ${a} vs ${b}`);
    }
  }
  assertEquals(bad, 0, `${path}: lazy ≠ full at\n${examples.join("\n")}`);
  return { pcs: pcs.length, lazy: rules instanceof LazyUnwindTable };
}

Deno.test("lazy unwind rules equal the full table: libc", () => {
  const r = compare(LIBC);
  assert(r.lazy, "libc has .eh_frame_hdr: the lazy path should be taken");
  console.log(`libc: ${r.pcs} pcs`);
});

Deno.test("lazy unwind rules equal the full table: native fixtures", async () => {
  const fx = await buildNativeFixtures();
  for (
    const path of [
      fx.symbolsPie,
      fx.symbolsNoPie,
      fx.symbolsStripped,
      fx.symbolsSplit,
      fx.chain,
      fx.leafLib,
      fx.signal,
      fx.vdso,
    ]
  ) {
    const r = compare(path);
    assert(r.lazy, `${path}: the lazy path should be taken`);
    console.log(`${path.split("/").pop()}: ${r.pcs} pcs`);
  }
});

Deno.test({
  name:
    "lazy unwind rules equal the full table: Go cgo (.eh_frame + .debug_frame)",
  ignore: requireToolchains().length === 0,
  async fn() {
    const tcs = requireToolchains();
    const path = await buildFixture(tcs[tcs.length - 1]!, "cgo", "default");
    const elf = parseElf(new FileSource(path));
    assert(elf.section(".debug_frame") !== undefined);
    const r = compare(path);
    assert(r.lazy, "the cgo binary has .eh_frame_hdr");
    console.log(`cgo: ${r.pcs} pcs`);
    // Go text is covered by .debug_frame only: built on the first such pc.
    const lazy = LazyUnwindTable.open(elf)!;
    assert(!lazy.debugFrameBuilt);
    const main = elf.symbols().byName("main.main");
    assert(main !== undefined);
    assert(lazy.find(main.start) >= 0);
    assert(lazy.debugFrameBuilt);
  },
});

Deno.test("lazy unwind rules equal the full table: the deno executable", () => {
  const r = compare(Deno.execPath());
  console.log(`deno: ${r.pcs} pcs (lazy: ${r.lazy})`);
});

Deno.test({
  name: "lazy unwind rules equal the full table: node (large C++ binary)",
  ignore: (() => {
    try {
      return !Deno.statSync("/usr/bin/node").isFile;
    } catch {
      return true;
    }
  })(),
  fn() {
    const r = compare("/usr/bin/node");
    assert(r.lazy);
    console.log(`node: ${r.pcs} pcs`);
  },
});

Deno.test("LazyUnwindTable compiles only the FDEs it is asked about, within its LRU", () => {
  const elf = parseElf(new FileSource(LIBC));
  const lazy = LazyUnwindTable.open(elf, 8)!;
  assert(lazy.fdeCount > 1000);
  const full = buildUnwindTable(elf);
  const pcs: number[] = [];
  for (let i = 0; i < full.length && pcs.length < 20; i += 997) {
    pcs.push(full.pc[i]!);
  }
  for (const pc of pcs) lazy.find(pc);
  assert(lazy.compiledFdes <= pcs.length);
  for (const pc of pcs) assertEquals(rule(lazy, pc), rule(full, pc));
  // Repeated lookups of one pc hit the cache.
  const before = lazy.compiledFdes;
  for (let k = 0; k < 100; k++) lazy.find(pcs[0]!);
  assert(lazy.compiledFdes <= before + 1);
});

Deno.test("openUnwindRules() falls back to the full table without .eh_frame_hdr", () => {
  const elf = parseElf(new FileSource(Deno.execPath()));
  const rules = openUnwindRules(elf);
  if (elf.programHeaders.every((p) => p.type !== PT_GNU_EH_FRAME)) {
    assert(rules instanceof UnwindTable);
  }
  assert(
    openUnwindRules(parseElf(new FileSource(LIBC)), { lazy: false }) instanceof
      UnwindTable,
  );
});
