/**
 * Exporter selection: `--exporter KIND:TARGET` specs and the
 * OTEL_EXPORTER_OTLP_* environment variables.
 *
 * | spec                  | exporter                                        |
 * |-----------------------|-------------------------------------------------|
 * | `folded:PATH`         | folded stacks (flamegraph.pl, speedscope)       |
 * | `pprof:PATH`          | gzipped pprof, one file per window              |
 * | `otlp-file:PATH`      | binary ProfilesData (`.json`: OTLP/JSON)        |
 * | `otlp-grpc:HOST:PORT` | OTLP/gRPC (`https://HOST:PORT` for TLS)         |
 * | `otlp-http:URL`       | OTLP/HTTP protobuf POST                         |
 *
 * The OTLP exporters take headers, timeout and compression from the same
 * environment variables whether selected by spec or by environment.
 *
 * @module
 */
import type { Exporter } from "./exporter.ts";
import { createFoldedExporter } from "./folded.ts";
import { connectionFromEnv, otlpFromEnv } from "./otlp/config.ts";
import { createOtlpFileExporter } from "./otlp/file.ts";
import { createOtlpGrpcExporter } from "./otlp/grpc.ts";
import { createOtlpHttpExporter } from "./otlp/http.ts";
import { type Env, resourceDefaults } from "./otlp/resource.ts";
import { createPprofExporter } from "./pprof.ts";

/** A bad `--exporter` value; the CLI prints usage and exits 2. */
export class ExporterSpecError extends TypeError {
  /** The spec as given. */
  readonly spec: string;
  /**
   * @param message What is wrong.
   * @param spec The spec as given.
   */
  constructor(message: string, spec: string) {
    super(message);
    this.name = "ExporterSpecError";
    this.spec = spec;
  }
}

/** Exporter kinds and what their TARGET is, for usage text. */
export const EXPORTER_KINDS: Readonly<Record<string, string>> = {
  "folded": "PATH",
  "pprof": "PATH",
  "otlp-file": "PATH",
  "otlp-grpc": "HOST:PORT",
  "otlp-http": "URL",
};

/**
 * Creates an exporter from a `KIND:TARGET` spec.
 *
 * @param spec E.g. `otlp-grpc:127.0.0.1:4317`, `pprof:/tmp/cpu.pb.gz`.
 * @param env Environment for OTLP headers/timeout/compression and resource
 *   attributes; `Deno.env` when absent.
 * @returns The exporter (not queued; wrap it in {@linkcode QueuedExporter}).
 * @throws {ExporterSpecError} On an unknown kind or an empty target.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { createExporter } from "./registry.ts";
 * const e = createExporter("otlp-http:http://127.0.0.1:4318", {});
 * strictEqual(e.name, "otlp-http:http://127.0.0.1:4318/v1development/profiles");
 * await e.close();
 * ```
 */
export function createExporter(spec: string, env?: Env): Exporter {
  const colon = spec.indexOf(":");
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const target = colon < 0 ? "" : spec.slice(colon + 1);
  if (!(kind in EXPORTER_KINDS)) {
    throw new ExporterSpecError(
      `Cannot create exporter "${spec}": unknown kind "${kind}", expected one of ${
        Object.entries(EXPORTER_KINDS).map(([k, t]) => `${k}:${t}`).join(", ")
      }`,
      spec,
    );
  }
  if (target === "") {
    throw new ExporterSpecError(
      `Cannot create exporter "${spec}": missing ${
        EXPORTER_KINDS[kind]
      } after "${kind}:"`,
      spec,
    );
  }
  const e = env ?? Deno.env.toObject();
  switch (kind) {
    case "folded":
      return createFoldedExporter(target);
    case "pprof":
      return createPprofExporter(target);
    case "otlp-file":
      return createOtlpFileExporter(target, { defaults: resourceDefaults(e) });
    case "otlp-grpc":
      return createOtlpGrpcExporter(target, {
        ...connectionFromEnv(e),
        defaults: resourceDefaults(e),
      });
    default:
      return createOtlpHttpExporter(target, {
        ...connectionFromEnv(e),
        defaults: resourceDefaults(e),
      });
  }
}

/**
 * The exporters the environment asks for: an OTLP exporter when
 * OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT is set
 * (protocol from OTEL_EXPORTER_OTLP_[PROFILES_]PROTOCOL, default grpc), else
 * none. The CLI uses them when no `--exporter` is given.
 *
 * @param env Environment; `Deno.env` when absent.
 * @returns Zero or one exporter.
 * @throws {RangeError} On an unknown protocol or a bad timeout.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { exportersFromEnv } from "./registry.ts";
 * strictEqual(exportersFromEnv({}).length, 0);
 * ```
 */
export function exportersFromEnv(env?: Env): Exporter[] {
  const e = env ?? Deno.env.toObject();
  const config = otlpFromEnv(e);
  if (!config) return [];
  const { protocol, endpoint, ...connection } = config;
  const options = { ...connection, defaults: resourceDefaults(e) };
  return [
    protocol === "grpc"
      ? createOtlpGrpcExporter(endpoint, options)
      : createOtlpHttpExporter(endpoint, options),
  ];
}
