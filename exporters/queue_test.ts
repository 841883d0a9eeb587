import { deepStrictEqual, ok, strictEqual } from "node:assert";
import type { ProfileWindow } from "../pipeline/model.ts";
import { type Exporter, TransientExportError } from "./exporter.ts";
import { QueuedExporter } from "./queue.ts";

function window(i: number): ProfileWindow {
  return {
    startUnixNano: BigInt(i),
    durationNano: 1n,
    frequency: 19,
    processes: [],
  };
}

/** An exporter that fails while `down` is true and records what it got. */
function flaky() {
  const got: bigint[] = [];
  let closed = false;
  const state = { down: true, permanent: false };
  const exporter: Exporter = {
    name: "flaky",
    export(w) {
      if (state.permanent) return Promise.reject(new Error("bad request"));
      if (state.down) return Promise.reject(new TransientExportError("down"));
      got.push(w.startUnixNano);
      return Promise.resolve();
    },
    close() {
      closed = true;
      return Promise.resolve();
    },
  };
  return { exporter, got, state, isClosed: () => closed };
}

const fast = { initialBackoffMs: 5, maxBackoffMs: 20 };

Deno.test("QueuedExporter.enqueue() never blocks and drops the oldest when full", async () => {
  const f = flaky();
  const q = new QueuedExporter(f.exporter, {
    ...fast,
    capacity: 3,
    closeTimeoutMs: 200,
  });
  const t0 = performance.now();
  for (let i = 0; i < 10; i++) q.enqueue(window(i));
  ok(performance.now() - t0 < 50);
  const s = q.stats();
  strictEqual(s.queued, 3);
  strictEqual(s.dropped, 7);
  // Recovery: the in-flight window (0) and the newest two are exported.
  f.state.down = false;
  await q.close();
  deepStrictEqual(f.got, [0n, 8n, 9n]);
  ok(q.stats().retried >= 1);
  strictEqual(q.stats().exported, 3);
  ok(f.isClosed());
});

Deno.test("QueuedExporter retries with backoff until the exporter recovers", async () => {
  const f = flaky();
  const q = new QueuedExporter(f.exporter, fast);
  q.enqueue(window(1));
  await new Promise((r) => setTimeout(r, 60));
  strictEqual(q.stats().exported, 0);
  const retried = q.stats().retried;
  ok(retried >= 2 && retried < 12, `retried ${retried} times in 60 ms`);
  f.state.down = false;
  q.enqueue(window(2));
  await q.close();
  deepStrictEqual(f.got, [1n, 2n]);
  deepStrictEqual({ ...q.stats(), retried: 0 }, {
    queued: 0,
    exported: 2,
    retried: 0,
    dropped: 0,
    failed: 0,
  });
});

Deno.test("QueuedExporter counts permanent failures without retrying", async () => {
  const f = flaky();
  f.state.permanent = true;
  const errors: unknown[] = [];
  const q = new QueuedExporter(f.exporter, {
    ...fast,
    onFailure: (e) => errors.push(e),
  });
  q.enqueue(window(1));
  q.enqueue(window(2));
  await q.close();
  deepStrictEqual(q.stats(), {
    queued: 0,
    exported: 0,
    retried: 0,
    dropped: 0,
    failed: 2,
  });
  strictEqual(errors.length, 2);
});

Deno.test("QueuedExporter.close() gives up at its deadline and counts the rest as dropped", async () => {
  const f = flaky();
  const q = new QueuedExporter(f.exporter, { ...fast, closeTimeoutMs: 100 });
  q.enqueue(window(1));
  q.enqueue(window(2));
  const t0 = performance.now();
  await q.close();
  const took = performance.now() - t0;
  ok(took < 400, `close took ${took} ms`);
  strictEqual(q.stats().dropped, 2);
  strictEqual(q.stats().exported, 0);
  strictEqual(q.enqueue(window(3)), false);
  strictEqual(q.stats().dropped, 3);
});

Deno.test("QueuedExporter honors a server's Retry-After", async () => {
  let calls = 0;
  const times: number[] = [];
  const q = new QueuedExporter({
    name: "busy",
    export() {
      times.push(performance.now());
      if (calls++ === 0) {
        return Promise.reject(
          new TransientExportError("busy", { retryAfterMs: 80 }),
        );
      }
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  }, fast);
  q.enqueue(window(1));
  await q.close();
  strictEqual(q.stats().exported, 1);
  ok(times[1]! - times[0]! >= 75, `retried after ${times[1]! - times[0]!} ms`);
});

Deno.test("QueuedExporter exports a window enqueued just as the worker finishes", async () => {
  // Whatever microtask the second window arrives in, relative to the end of
  // the first export, it must be exported, not left behind in the queue.
  for (let ticks = 0; ticks < 12; ticks++) {
    const seen: ProfileWindow[] = [];
    const q = new QueuedExporter({
      name: "memory",
      export: (w) => {
        seen.push(w);
        return Promise.resolve();
      },
      close: () => Promise.resolve(),
    });
    const a = { ...emptyWindow(), durationNano: 1n };
    const b = { ...emptyWindow(), durationNano: 2n };
    q.enqueue(a);
    for (let i = 0; i < ticks; i++) await Promise.resolve();
    q.enqueue(b);
    await q.close();
    const s = q.stats();
    strictEqual(s.exported, 2, `ticks ${ticks}: exported ${s.exported}`);
    strictEqual(s.dropped, 0, `ticks ${ticks}: dropped ${s.dropped}`);
    strictEqual(seen.length, 2);
  }
});

function emptyWindow(): ProfileWindow {
  return { startUnixNano: 0n, durationNano: 1n, frequency: 19, processes: [] };
}
