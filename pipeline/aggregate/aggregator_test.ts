import { assertEquals } from "../../tests/assert.ts";
import type { Location } from "../model.ts";
import { Aggregator } from "./aggregator.ts";

const leaf: Location = {
  kind: "native",
  address: 0x1000n,
  lines: [{ functionName: "leaf" }],
};
const root: Location = {
  kind: "native",
  address: 0x2000n,
  lines: [{ functionName: "main" }],
};
const proc = { pid: 7, name: "demo" };
const attrs = { threadId: 7, threadName: "demo", cpu: 0 };

Deno.test("Aggregator groups identical stacks and attributes", () => {
  const agg = new Aggregator({ frequency: 19, startUnixNano: 1000n });
  agg.add(proc, [leaf, root], attrs, 1001n);
  agg.add(proc, [leaf, root], attrs, 1002n);
  agg.add(proc, [root], attrs, 1003n);
  agg.add(proc, [leaf, root], { ...attrs, cpu: 1 }, 1004n);
  const w = agg.flush(2000n);
  assertEquals(w.startUnixNano, 1000n);
  assertEquals(w.durationNano, 1000n);
  assertEquals(w.processes.length, 1);
  const counts = w.processes[0]!.samples.map((s) => s.count);
  assertEquals(counts, [2, 1, 1]);
  assertEquals(w.processes[0]!.samples[0]!.timestampsUnixNano, [1001n, 1002n]);
});

Deno.test("Aggregator.flush() clamps timestamps into the window and starts the next", () => {
  const agg = new Aggregator({ frequency: 19, startUnixNano: 1000n });
  agg.add(proc, [leaf], attrs, 900n);
  agg.add(proc, [leaf], attrs, 2500n);
  const w = agg.flush(2000n);
  assertEquals(w.processes[0]!.samples[0]!.timestampsUnixNano, [1000n, 1999n]);
  assertEquals(agg.windowStart, 2000n);
  assertEquals(agg.flush(3000n).processes.length, 0);
});

Deno.test("Aggregator drops new groups beyond maxGroups and counts them", () => {
  const agg = new Aggregator({
    frequency: 19,
    startUnixNano: 0n,
    maxGroups: 1,
  });
  agg.add(proc, [leaf], attrs, 1n);
  agg.add(proc, [root], attrs, 2n);
  agg.add(proc, [leaf], attrs, 3n);
  assertEquals(agg.stats.droppedGroupLimit, 1);
  assertEquals(agg.flush(10n).processes[0]!.samples[0]!.count, 2);
});
