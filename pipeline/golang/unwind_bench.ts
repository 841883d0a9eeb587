/**
 * Go unwinding throughput over the committed recording
 * tests/fixtures/recordings/go-chain (live samples of the chain fixture, Go
 * 1.26 stripped and Go 1.21 PIE): user stacks unwound per second (the pcsp
 * stepper with its stack switches, warm process table), and whole samples
 * through the pipeline per second (unwind + symbolize + aggregate).
 */
import { replayRecording } from "../../agent/replay.ts";
import {
  buildReplayPipeline,
  openRecordingFixture,
} from "../../tests/_replay.ts";
import { ProcessTable } from "../proc/mod.ts";
import { decodeRecord, type RawSample } from "../record/mod.ts";
import { makeUserUnwinder } from "../stack_unwinder.ts";

const fixture = openRecordingFixture("go-chain");
const { dir } = fixture;
const samples: RawSample[] = fixture.records.map((r) => decodeRecord(r));
const table = new ProcessTable(fixture.newSource());
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

const built = buildReplayPipeline(fixture);
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
