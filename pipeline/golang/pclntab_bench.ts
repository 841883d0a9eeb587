/**
 * Go symbolization throughput: warm-cache lookups (the agent's steady state,
 * the issue's ≥ 1 M/s target), cold lookups (findFunc + pc-value decoding +
 * inline expansion), and pcsp unwinding steps.
 */
import { BytesSource } from "../binary/mod.ts";
import { parseElf } from "../elf/mod.ts";
import { GoPclntab, parseGoPclntab } from "./pclntab.ts";
import { newestChainFixture } from "./_test_fixture.ts";

const path = await newestChainFixture();
if (path !== undefined) {
  const elf = parseElf(new BytesSource(Deno.readFileSync(path)));
  const warm = parseGoPclntab(elf);
  const OPS = 4096;
  const pcs = new Float64Array(OPS);
  let x = 1;
  for (let k = 0; k < OPS; k++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    pcs[k] = warm.textStart +
      Math.floor((x / 2147483648) * (warm.textEnd - warm.textStart));
  }
  for (const pc of pcs) warm.symbolize(pc, true);

  Deno.bench({
    name: `symbolize warm cache ×${OPS}`,
    group: "GoPclntab/symbolize",
    baseline: true,
    fn() {
      for (let k = 0; k < OPS; k++) warm.symbolize(pcs[k]!, true);
    },
  });

  Deno.bench({
    name: `symbolize cold (fresh table each run) ×${OPS}`,
    group: "GoPclntab/symbolize",
    fn(b) {
      const t = parseGoPclntab(elf);
      b.start();
      for (let k = 0; k < OPS; k++) t.symbolize(pcs[k]!, true);
      b.end();
    },
  });

  Deno.bench({
    name: `findFunc + pcsp ×${OPS}`,
    group: "GoPclntab/pcsp",
    fn() {
      for (let k = 0; k < OPS; k++) {
        const i = warm.findFunc(pcs[k]!);
        if (i >= 0) warm.pcsp(i, pcs[k]!);
      }
    },
  });

  Deno.bench({
    name: "parseGoPclntab",
    group: "GoPclntab/parse",
    fn() {
      parseGoPclntab(elf);
    },
  });
  void GoPclntab;
}
