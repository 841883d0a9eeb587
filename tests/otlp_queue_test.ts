/**
 * The queue in front of a real OTLP exporter: the Collector is down at start,
 * windows pile up (bounded, drops counted), the Collector starts on the same
 * port, exporting resumes, close() flushes. Needs `make collector`; fails
 * instead of skipping when CI=true.
 */
import { ok, strictEqual } from "node:assert";
import { QueuedExporter } from "../exporters/queue.ts";
import { createExporter } from "../exporters/registry.ts";
import {
  collectorBinary,
  freePort,
  ignoreWithout,
  startCollector,
} from "./collector/collector.ts";
import { assertConformant } from "./otlp_conformance.ts";
import { smallWindow } from "./otlp_fixtures.ts";

for (const kind of ["otlp-grpc", "otlp-http"] as const) {
  Deno.test({
    name:
      `QueuedExporter(${kind}) survives a dead Collector, drops boundedly and resumes`,
    ignore: ignoreWithout(collectorBinary()),
    async fn() {
      const grpcPort = freePort();
      const httpPort = freePort();
      const target = kind === "otlp-grpc"
        ? `127.0.0.1:${grpcPort}`
        : `http://127.0.0.1:${httpPort}`;
      const q = new QueuedExporter(
        createExporter(`${kind}:${target}`, {
          OTEL_EXPORTER_OTLP_TIMEOUT: "2000",
        }),
        {
          capacity: 3,
          initialBackoffMs: 50,
          maxBackoffMs: 200,
          closeTimeoutMs: 10_000,
        },
      );
      const now = BigInt(Date.now()) * 1_000_000n;
      for (let i = 0; i < 5; i++) {
        q.enqueue(smallWindow(now + BigInt(i) * 1_000_000_000n));
      }
      await new Promise((r) => setTimeout(r, 400));
      let s = q.stats();
      strictEqual(s.exported, 0);
      strictEqual(s.dropped, 2);
      strictEqual(s.queued, 3);
      ok(s.retried >= 1, `retried ${s.retried}`);

      await using collector = await startCollector({ grpcPort, httpPort });
      // Exporting resumes without any help.
      const until = Date.now() + 15_000;
      while (q.stats().exported < 2 && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 50));
      }
      ok(q.stats().exported >= 2, `exported ${q.stats().exported}`);
      q.enqueue(smallWindow(now + 10_000_000_000n));
      await q.close();
      s = q.stats();
      strictEqual(s.exported, 4);
      strictEqual(s.dropped, 2);
      strictEqual(s.failed, 0);
      strictEqual(s.queued, 0);
      const got = await collector.waitForProfiles(4);
      strictEqual(got.length, 4);
      got.forEach((m, i) => assertConformant(m, `Collector output #${i}`));
    },
  });
}
