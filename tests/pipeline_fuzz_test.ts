/**
 * The whole userspace pipeline against hostile samples: real records from the
 * committed recordings (so pcs hit real binaries and unwind tables), with
 * their stack bytes, registers and Go words corrupted by fast-check. Every
 * sample must be ingested without an exception and in bounded time; what
 * cannot be unwound ends in a reason frame.
 */
import fc from "fast-check";
import { decodeRecord, Off } from "../pipeline/record/mod.ts";
import { assert } from "./assert.ts";
import { buildReplayPipeline, openRecordingFixture } from "./_replay.ts";

const NAMES = ["native-o2", "go-chain", "cgo/go1.26"];

for (const name of NAMES) {
  Deno.test(`pipeline ingests corrupted samples of ${name} without throwing`, () => {
    const fixture = openRecordingFixture(name);
    const built = buildReplayPipeline(fixture);
    // Warm up with the real records so the process table knows the maps.
    for (const r of fixture.records) built.pipeline.ingest(decodeRecord(r));
    const records = fixture.records;
    fc.assert(
      fc.property(
        fc.nat({ max: records.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 64 }),
        fc.array(
          fc.tuple(
            fc.constantFrom(
              Off.regs,
              Off.regs + 8,
              Off.regs + 16,
              Off.go_g,
              Off.go_curg,
              Off.go_stack_lo,
              Off.go_stack_hi,
              Off.go_sched_sp,
              Off.go_syscall_sp,
              Off.go_syscall_pc,
              Off.go_g0_sched_sp,
            ),
            fc.bigInt({ min: 0n, max: (1n << 48n) - 1n }),
          ),
          { maxLength: 4 },
        ),
        (pick, byteFlips, wordSets) => {
          const copy = records[pick]!.slice();
          const v = new DataView(copy.buffer);
          const tail = copy.length - Off.go_labels - 8;
          for (const [at, value] of byteFlips) {
            if (tail > 0) copy[Off.go_labels + 8 + (at % tail)] = value;
          }
          for (const [off, value] of wordSets) v.setBigUint64(off, value, true);
          let sample;
          try {
            sample = decodeRecord(copy);
          } catch {
            return; // the decoder's own properties are tested elsewhere
          }
          const started = performance.now();
          built.pipeline.ingest(sample);
          assert(
            performance.now() - started < 1000,
            "one sample took over a second",
          );
        },
      ),
      { numRuns: 300, seed: 4242 },
    );
    fixture.objects.close();
  });
}
