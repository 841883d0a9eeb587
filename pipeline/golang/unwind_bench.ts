/**
 * Go unwinding throughput over the committed recording
 * tests/fixtures/recordings/go-chain (live samples of the chain fixture, Go
 * 1.26 stripped and Go 1.21 PIE): user stacks unwound per second (the pcsp
 * stepper with its stack switches, warm process table), and whole samples
 * through the pipeline per second (unwind + symbolize + aggregate).
 */
import { replayRecording } from "../../agent/replay.ts";
import { buildPipeline } from "../../agent/build_pipeline.ts";
import { KtimeClock } from "../clock.ts";
import { ObjectCache, ProcessTable } from "../proc/mod.ts";
import { decodeRecord, type RawSample } from "../record/mod.ts";
import { loadRecording } from "../recording/records_file.ts";
import { splitRecords } from "../recording/records_file.ts";
import { ReplayProcSource } from "../recording/replay_source.ts";
import { makeUserUnwinder } from "../stack_unwinder.ts";
import { KernelSymbols } from "../symbolize/kallsyms.ts";

const dir = new URL(
  "../../tests/fixtures/recordings/go-chain",
  import.meta.url,
).pathname;
const rec = loadRecording(dir);
const samples: RawSample[] = [...splitRecords(rec.records)].map((r) =>
  decodeRecord(r)
);
const objects = new ObjectCache();
const table = new ProcessTable(
  new ReplayProcSource(dir, rec.procs, objects, rec.objects),
);
const unwind = makeUserUnwinder("cfi", table);
let frames = 0;
for (const s of samples) {
  const proc = table.get(s.pid);
  if (proc !== undefined) frames += unwind(s, proc).frames.length;
}
console.log(
  `go-chain: ${samples.length} samples, ${
    (frames / samples.length).toFixed(1)
  } user frames per sample`,
);

Deno.bench({
  name: `unwind Go samples ×${samples.length}`,
  group: "Go/unwind",
  baseline: true,
  fn() {
    for (const s of samples) {
      const proc = table.get(s.pid);
      if (proc !== undefined) unwind(s, proc);
    }
  },
});

const built = buildPipeline({
  source: new ReplayProcSource(dir, rec.procs, objects, rec.objects),
  objects,
  kernel: KernelSymbols.parse(rec.kallsyms),
  frequency: rec.meta.frequency,
  startUnixNano: BigInt(rec.meta.startUnixNano),
  clock: new KtimeClock(BigInt(rec.meta.clockOffsetNs)),
  unwind: "cfi",
});
for (const s of samples) built.pipeline.ingest(s);

Deno.bench({
  name: `pipeline ingest (unwind + symbolize + aggregate) ×${samples.length}`,
  group: "Go/unwind",
  fn() {
    for (const s of samples) built.pipeline.ingest(s);
  },
});

Deno.bench({
  name: "replayRecording (cold: parse binaries, unwind, symbolize)",
  group: "Go/replay",
  n: 5,
  async fn() {
    await replayRecording(dir);
  },
});
