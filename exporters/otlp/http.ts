/**
 * `otlp-http:URL` — POSTs ExportProfilesServiceRequest as
 * `application/x-protobuf` (gzip by default) to an OTLP/HTTP receiver.
 * 429/502/503/504, timeouts and connection errors are transient (with the
 * server's Retry-After when it sent one); other failures drop the window.
 *
 * @module
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  ExportProfilesServiceRequestSchema,
  ExportProfilesServiceResponseSchema,
} from "../../gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.ts";
import type { ProfileWindow } from "../../pipeline/model.ts";
import { type Exporter, TransientExportError } from "../exporter.ts";
import { buildProfilesData, toExportRequest } from "./build.ts";
import {
  DEFAULT_TIMEOUT_MS,
  type OtlpConnection,
  profilesHttpUrl,
} from "./config.ts";
import type { ResourceDefaults } from "./resource.ts";
import { gzipBytes } from "../_gzip.ts";

/** Options of {@linkcode createOtlpHttpExporter}. */
export interface OtlpHttpOptions extends Partial<OtlpConnection> {
  /** Shared resource attributes; from the environment when absent. */
  readonly defaults?: ResourceDefaults;
}

/** An OTLP exporter that also counts what the receiver rejected. */
export interface OtlpExporter extends Exporter {
  /** Profiles the receiver reported as rejected (partial success). */
  readonly rejectedProfiles: number;
  /** The last partial-success message from the receiver, if any. */
  readonly lastRejectMessage: string | undefined;
}

const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);

/**
 * Creates the OTLP/HTTP exporter.
 *
 * @param target `http(s)://host:port` (the profiles path is added) or a full URL.
 * @param options Headers, timeout, gzip.
 * @returns The exporter.
 *
 * @example
 * ```ts
 * import { createOtlpHttpExporter } from "./http.ts";
 * const exporter = createOtlpHttpExporter("http://127.0.0.1:4318");
 * await exporter.close();
 * ```
 */
export function createOtlpHttpExporter(
  target: string,
  options: OtlpHttpOptions = {},
): OtlpExporter {
  const url = profilesHttpUrl(target);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const gzip = options.gzip ?? true;
  const headers: Record<string, string> = {
    ...options.headers,
    "content-type": "application/x-protobuf",
  };
  if (gzip) headers["content-encoding"] = "gzip";
  let rejected = 0;
  let lastMessage: string | undefined;
  return {
    name: `otlp-http:${url}`,
    get rejectedProfiles() {
      return rejected;
    },
    get lastRejectMessage() {
      return lastMessage;
    },
    async export(window: ProfileWindow): Promise<void> {
      const data = buildProfilesData(
        window,
        options.defaults ? { defaults: options.defaults } : {},
      );
      const raw = toBinary(
        ExportProfilesServiceRequestSchema,
        toExportRequest(data),
      );
      const body = gzip ? await gzipBytes(raw) : raw;
      let res: Response;
      try {
        res = await fetch(url, {
          method: "POST",
          headers,
          body: body as Uint8Array<ArrayBuffer>,
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (cause) {
        throw new TransientExportError(
          `Cannot POST profiles to ${url}: ${errorText(cause)}`,
          { cause },
        );
      }
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (res.ok) {
        const type = res.headers.get("content-type") ?? "";
        if (bytes.length > 0 && type.includes("protobuf")) {
          const reply = fromBinary(ExportProfilesServiceResponseSchema, bytes);
          const partial = reply.partialSuccess;
          if (
            partial && (partial.rejectedProfiles > 0n || partial.errorMessage)
          ) {
            rejected += Number(partial.rejectedProfiles);
            lastMessage = partial.errorMessage;
          }
        }
        return;
      }
      const message = `Cannot POST profiles to ${url}: HTTP ${res.status} ${
        new TextDecoder().decode(bytes.subarray(0, 200))
      }`;
      if (RETRYABLE_STATUS.has(res.status)) {
        const retryAfterMs = parseRetryAfter(res.headers.get("retry-after"));
        throw new TransientExportError(
          message,
          retryAfterMs === undefined ? {} : { retryAfterMs },
        );
      }
      throw new Error(message);
    },
    close(): Promise<void> {
      return Promise.resolve();
    },
  };
}

/**
 * Parses a Retry-After header: delta seconds or an HTTP date.
 *
 * @param value The header value.
 * @param now Current time, ms since the epoch.
 * @returns Milliseconds to wait, or undefined.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { parseRetryAfter } from "./http.ts";
 * strictEqual(parseRetryAfter("2"), 2000);
 * ```
 */
export function parseRetryAfter(
  value: string | null,
  now: number = Date.now(),
): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
