/**
 * Unwound samples per second for a ~21-frame native stack, from the committed
 * recording tests/fixtures/recordings/native-o2 (no gcc, gdb, root or BPF at
 * bench time): the -O2 -fomit-frame-pointer chain fixture with `a` nested 16
 * deep, sampled live in lib_leaf. The benches run the per-sample user
 * unwinder the pipeline uses (CFI over the recorded ELF files through the
 * process table), and the whole per-sample pipeline (unwind, symbolize,
 * aggregate). Tables and caches are warmed outside the measured function, as
 * a running agent has them. Divide BATCH by the time per iteration for
 * samples per second on one core.
 */
import {
  buildReplayPipeline,
  openRecordingFixture,
} from "../../tests/_replay.ts";
import { ProcessTable } from "../proc/mod.ts";
import { decodeRecord, type RawSample } from "../record/mod.ts";
import { makeUserUnwinder } from "../stack_unwinder.ts";

const fixture = openRecordingFixture("native-o2");
const { dir, rec } = fixture;
const samples: RawSample[] = fixture.records.map((b) => decodeRecord(b));

const source = fixture.newSource();
const table = new ProcessTable(source);
const unwind = makeUserUnwinder("cfi", table);
const deep = samples.filter((s) => {
  const r = unwind(s, table.get(s.pid)!);
  return r.error === undefined && r.frames.length >= 20;
});
if (deep.length === 0) throw new Error(`no complete 20+ frame stack in ${dir}`);
const frames = unwind(deep[0]!, table.get(deep[0]!.pid)!).frames.length;
const BATCH = 4096;

Deno.bench({
  name: `user unwinder, CFI, ${frames} frames x${BATCH}`,
  group: "unwind",
  baseline: true,
  fn() {
    for (let i = 0; i < BATCH; i++) {
      const s = deep[i % deep.length]!;
      unwind(s, table.get(s.pid)!);
    }
  },
});

const fpUnwind = makeUserUnwinder("fp", table);
Deno.bench({
  name: `user unwinder, frame pointers only x${BATCH} (stops early)`,
  group: "unwind",
  fn() {
    for (let i = 0; i < BATCH; i++) {
      const s = deep[i % deep.length]!;
      fpUnwind(s, table.get(s.pid)!);
    }
  },
});

const built = buildReplayPipeline(fixture, source);
for (const s of deep) built.pipeline.ingest(s);
let flushed = 0n;
Deno.bench({
  name:
    `whole pipeline (unwind, symbolize, aggregate), ${frames} frames x${BATCH}`,
  group: "pipeline",
  fn() {
    for (let i = 0; i < BATCH; i++) {
      built.pipeline.ingest(deep[i % deep.length]!);
    }
    built.aggregator.flush(++flushed + BigInt(rec.meta.startUnixNano));
  },
});
