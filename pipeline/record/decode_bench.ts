/**
 * Records decoded per second from real recorded ring buffer bytes
 * (testdata/ring_sample.bin). One iteration decodes the whole recording
 * several times over (~4096 records); records/s = 4096 / time per iteration.
 */
import { decodeRecord, splitFramed } from "./decode.ts";

const records = splitFramed(
  Deno.readFileSync(new URL("./testdata/ring_sample.bin", import.meta.url)),
);
const OPS = 4096;

Deno.bench({
  name: `decodeRecord × ${OPS} (recorded, ${records.length} distinct)`,
  group: "record/decode",
  baseline: true,
  fn() {
    let sum = 0;
    for (let i = 0; i < OPS; i++) {
      const s = decodeRecord(records[i % records.length]!);
      sum += s.ustack.bytes.length + s.kstack.length;
    }
    if (sum < 0) throw new Error("unreachable");
  },
});
