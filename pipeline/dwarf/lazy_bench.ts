/**
 * Cold cost of CFI lookup: from nothing (the file not yet parsed) to the
 * first 100 frame lookups, with the full table ({@linkcode buildUnwindTable})
 * and with the lazy `.eh_frame_hdr` lookup ({@linkcode openUnwindRules}).
 * The 100 pcs are spread over the file's FDEs, so each one costs what a
 * frame step in a new function costs. The deno executable carries no
 * `.eh_frame` at all (both paths find nothing); node stands for a large
 * C++ binary.
 *
 * @module
 */
import { FileSource } from "../binary/mod.ts";
import { parseElf } from "../elf/mod.ts";
import { buildUnwindTable, openUnwindRules, type UnwindRules } from "./mod.ts";

const FILES: [string, string][] = [
  ["libc", "/usr/lib/x86_64-linux-gnu/libc.so.6"],
  ["deno", Deno.execPath()],
  ["node", "/usr/bin/node"],
];

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** 100 pcs spread over the rows of the file's full table (computed once). */
function pcsOf(path: string): number[] {
  const t = buildUnwindTable(parseElf(new FileSource(path)));
  const pcs: number[] = [];
  const step = Math.max(1, Math.floor(t.length / 100));
  for (let i = 0; i < t.length && pcs.length < 100; i += step) {
    pcs.push(t.pc[i]!);
  }
  return pcs;
}

function firstLookups(rules: UnwindRules, pcs: number[]): number {
  let found = 0;
  for (const pc of pcs) if (rules.find(pc) >= 0) found++;
  return found;
}

for (const [name, path] of FILES) {
  if (!exists(path)) continue;
  const pcs = pcsOf(path);
  const slow = name === "node";
  Deno.bench({
    name: `${name}: full table, then 100 lookups`,
    group: name,
    baseline: true,
    ...(slow ? { n: 5, warmup: 1 } : {}),
    fn() {
      const rules = buildUnwindTable(parseElf(new FileSource(path)));
      firstLookups(rules, pcs);
    },
  });
  Deno.bench({
    name: `${name}: lazy (.eh_frame_hdr), then 100 lookups`,
    group: name,
    ...(slow ? { n: 20, warmup: 2 } : {}),
    fn() {
      const rules = openUnwindRules(parseElf(new FileSource(path)));
      firstLookups(rules, pcs);
    },
  });
}
