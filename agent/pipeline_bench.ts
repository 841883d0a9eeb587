/**
 * Throughput of the whole userspace pipeline (decode → process table →
 * unwind → symbolize → aggregate) on a committed recording, with warm caches:
 * the steady state of a running agent. `deno task bench` prints
 * samples/s per core; docs/performance.md records the numbers.
 */
import { decodeRecord } from "../pipeline/record/mod.ts";
import { buildReplayPipeline, openRecordingFixture } from "../tests/_replay.ts";

function setup(name: string) {
  const fixture = openRecordingFixture(name);
  const built = buildReplayPipeline(fixture);
  const { records, rec } = fixture;
  // Warm the caches (parsed files, unwind tables, symbols) once.
  for (const r of records) built.pipeline.ingest(decodeRecord(r));
  built.aggregator.flush(BigInt(rec.meta.startUnixNano) + 1n);
  return { built, records };
}

const recordings = ["native-o2"];
for (const name of recordings) {
  let state: ReturnType<typeof setup> | undefined;
  try {
    state = setup(name);
  } catch (err) {
    console.warn(
      `pipeline bench: recording ${name} unavailable: ${
        (err as Error).message
      }`,
    );
  }
  if (state === undefined) continue;
  const { built, records } = state;
  Deno.bench({
    name:
      `pipeline ${name}: ${records.length} samples (decode+unwind+symbolize+aggregate)`,
    group: "pipeline",
    baseline: true,
    fn() {
      for (const r of records) built.pipeline.ingest(decodeRecord(r));
      built.aggregator.flush(0n);
    },
  });
}
