/**
 * Re-records testdata/ring_sample.bin: real ring buffer records of a busy
 * shell loop plus whole-system samples, framed as the ring frames them
 * (see frameRecords). Run as root:
 *   deno run -A pipeline/record/testdata/record_fixture.ts
 *
 * @module
 */
import { Sampler } from "../../../bpf/sampler.ts";
import { pollFor, spawnBusy } from "../../../bpf/_live.ts";
import { frameRecords } from "../decode.ts";

const MAX = 48;
const child = spawnBusy();
const recs: Uint8Array[] = [];
try {
  using s = Sampler.open({ frequency: 199, ustackMax: 4096 });
  await pollFor(
    1000,
    100,
    () => s.drain((r) => recs.length < MAX && recs.push(r.slice())),
  );
} finally {
  child.kill();
  await child.status;
}
const out = new URL("./ring_sample.bin", import.meta.url);
Deno.writeFileSync(out, frameRecords(recs));
console.log(`wrote ${recs.length} records to ${out.pathname}`);
