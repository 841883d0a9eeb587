/**
 * Exporters: the {@linkcode Exporter} interface, the exporters behind it
 * (folded, pprof, OTLP gRPC / HTTP / file), selection from `KIND:TARGET`
 * specs and the environment, and the bounded retrying queue.
 *
 * @example Export one window to a pprof file through a queue
 * ```ts
 * import { createExporter, QueuedExporter } from "./mod.ts";
 * const path = await Deno.makeTempFile({ suffix: ".pb.gz" });
 * const q = new QueuedExporter(createExporter(`pprof:${path}`, {}));
 * q.enqueue({ startUnixNano: 0n, durationNano: 1_000_000_000n, frequency: 19, processes: [] });
 * await q.close();
 * ```
 *
 * @module
 */
export * from "./exporter.ts";
export * from "./folded.ts";
export * from "./pprof.ts";
export * from "./queue.ts";
export * from "./registry.ts";
export * from "./otlp/mod.ts";
