/**
 * Throughput of the whole userspace pipeline (decode → process table →
 * unwind → symbolize → aggregate) on a committed recording, with warm caches:
 * the steady state of a running agent. `deno task bench` prints
 * samples/s per core; docs/performance.md records the numbers.
 */
import { KtimeClock } from "../pipeline/clock.ts";
import { ObjectCache } from "../pipeline/proc/mod.ts";
import { decodeRecord } from "../pipeline/record/mod.ts";
import {
  loadRecording,
  ReplayProcSource,
  splitRecords,
} from "../pipeline/recording/mod.ts";
import { KernelSymbols } from "../pipeline/symbolize/kallsyms.ts";
import { buildPipeline } from "./build_pipeline.ts";

function setup(name: string) {
  const dir =
    new URL(`../tests/fixtures/recordings/${name}`, import.meta.url).pathname;
  const rec = loadRecording(dir);
  const objects = new ObjectCache();
  const source = new ReplayProcSource(dir, rec.procs, objects, rec.objects);
  const built = buildPipeline({
    source,
    objects,
    kernel: KernelSymbols.parse(rec.kallsyms),
    frequency: rec.meta.frequency,
    startUnixNano: BigInt(rec.meta.startUnixNano),
    clock: new KtimeClock(BigInt(rec.meta.clockOffsetNs)),
    unwind: "cfi",
  });
  const records = [...splitRecords(rec.records)];
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
