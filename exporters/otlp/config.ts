/**
 * The OTEL_EXPORTER_OTLP_* environment variables, read the way other
 * OpenTelemetry SDKs read them: the `_PROFILES_` form wins over the generic
 * one; the generic ENDPOINT is a base URL to which the signal path is added,
 * the PROFILES endpoint is used as is.
 *
 * @module
 */
import type { Env } from "./resource.ts";

/** OTLP transport protocols denoprof speaks. */
export type OtlpProtocol = "grpc" | "http/protobuf";

/** Connection settings shared by the gRPC and HTTP exporters. */
export interface OtlpConnection {
  /** Extra request headers (auth tokens). */
  readonly headers: Readonly<Record<string, string>>;
  /** Per-export deadline, milliseconds. */
  readonly timeoutMs: number;
  /** Whether to gzip request bodies. */
  readonly gzip: boolean;
}

/** What the environment asks for, when it asks for OTLP at all. */
export interface OtlpEnvConfig extends OtlpConnection {
  /** Transport. */
  readonly protocol: OtlpProtocol;
  /**
   * gRPC: `http(s)://host:port`. HTTP: the full URL to POST to.
   */
  readonly endpoint: string;
}

/** The path OTLP/HTTP receivers serve profiles on. */
export const PROFILES_HTTP_PATH = "/v1development/profiles";
/** Default per-export deadline (10 s, as in the OTLP exporter spec). */
export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Parses an OTEL_EXPORTER_OTLP_HEADERS value: `k=v` pairs separated by
 * commas, percent-decoded.
 *
 * @param value The variable's value.
 * @returns The headers (keys lowercased).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { parseHeaders } from "./config.ts";
 * deepStrictEqual(parseHeaders("Authorization=Bearer%20x,a=b"), { authorization: "Bearer x", a: "b" });
 * ```
 */
export function parseHeaders(
  value: string | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (!value) return out;
  for (const pair of value.split(",")) {
    const eq = pair.indexOf("=");
    if (eq <= 0) continue;
    try {
      const k = decodeURIComponent(pair.slice(0, eq).trim()).toLowerCase();
      if (k) out[k] = decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      // Malformed escape: skip the pair.
    }
  }
  return out;
}

/**
 * Connection settings from the environment (headers, timeout, compression),
 * whatever the endpoint.
 *
 * @param env Environment.
 * @returns Settings; gzip unless COMPRESSION is `none`.
 * @throws {RangeError} When TIMEOUT is not a non-negative number.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { connectionFromEnv } from "./config.ts";
 * strictEqual(connectionFromEnv({ OTEL_EXPORTER_OTLP_PROFILES_TIMEOUT: "500" }).timeoutMs, 500);
 * ```
 */
export function connectionFromEnv(env: Env): OtlpConnection {
  const pick = (name: string) =>
    env[`OTEL_EXPORTER_OTLP_PROFILES_${name}`] ??
      env[`OTEL_EXPORTER_OTLP_${name}`];
  const headers = {
    ...parseHeaders(env["OTEL_EXPORTER_OTLP_HEADERS"]),
    ...parseHeaders(env["OTEL_EXPORTER_OTLP_PROFILES_HEADERS"]),
  };
  const rawTimeout = pick("TIMEOUT");
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  if (rawTimeout !== undefined && rawTimeout !== "") {
    timeoutMs = Number(rawTimeout);
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
      throw new RangeError(
        `Cannot use OTEL_EXPORTER_OTLP_TIMEOUT: not a number of milliseconds: ${rawTimeout}`,
      );
    }
  }
  const compression = (pick("COMPRESSION") ?? "gzip").trim().toLowerCase();
  return { headers, timeoutMs, gzip: compression !== "none" };
}

/**
 * The OTLP exporter the environment selects, or undefined when neither
 * OTEL_EXPORTER_OTLP_ENDPOINT nor OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT is set.
 *
 * @param env Environment.
 * @returns The configuration.
 * @throws {RangeError} On an unknown protocol or a bad timeout.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { otlpFromEnv } from "./config.ts";
 * const c = otlpFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf" });
 * strictEqual(c?.endpoint, "http://c:4318/v1development/profiles");
 * ```
 */
export function otlpFromEnv(env: Env): OtlpEnvConfig | undefined {
  const specific = env["OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT"];
  const generic = env["OTEL_EXPORTER_OTLP_ENDPOINT"];
  if (!specific && !generic) return undefined;
  const rawProtocol = (env["OTEL_EXPORTER_OTLP_PROFILES_PROTOCOL"] ??
    env["OTEL_EXPORTER_OTLP_PROTOCOL"] ?? "grpc").trim();
  if (rawProtocol !== "grpc" && rawProtocol !== "http/protobuf") {
    throw new RangeError(
      `Cannot use OTEL_EXPORTER_OTLP_PROTOCOL: expected grpc or http/protobuf: ${rawProtocol}`,
    );
  }
  const protocol: OtlpProtocol = rawProtocol;
  let endpoint: string;
  if (protocol === "grpc") {
    endpoint = normalizeGrpcEndpoint((specific || generic)!);
  } else if (specific) {
    endpoint = specific;
  } else {
    endpoint = generic!.replace(/\/+$/, "") + PROFILES_HTTP_PATH;
  }
  return { protocol, endpoint, ...connectionFromEnv(env) };
}

/**
 * Turns `host:port` or a URL into the `http(s)://host:port` base URL the gRPC
 * transport wants (https means TLS).
 *
 * @param target `HOST:PORT`, `http://HOST:PORT` or `https://HOST:PORT`.
 * @returns The base URL.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { normalizeGrpcEndpoint } from "./config.ts";
 * strictEqual(normalizeGrpcEndpoint("127.0.0.1:4317"), "http://127.0.0.1:4317");
 * ```
 */
export function normalizeGrpcEndpoint(target: string): string {
  const t = target.trim();
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(t) ? t : `http://${t}`;
  const u = new URL(url);
  return `${u.protocol}//${u.host}`;
}

/**
 * The URL to POST profiles to: the target itself when it has a path, else the
 * target with `/v1development/profiles`.
 *
 * @param target An `http(s)://` URL.
 * @returns The URL.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { profilesHttpUrl } from "./config.ts";
 * strictEqual(profilesHttpUrl("http://c:4318"), "http://c:4318/v1development/profiles");
 * strictEqual(profilesHttpUrl("http://c:4318/custom"), "http://c:4318/custom");
 * ```
 */
export function profilesHttpUrl(target: string): string {
  const u = new URL(target);
  if (u.pathname === "/" || u.pathname === "") u.pathname = PROFILES_HTTP_PATH;
  return u.toString();
}
