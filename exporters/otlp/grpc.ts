/**
 * `otlp-grpc:HOST:PORT` — calls the Collector's ProfilesService.Export over
 * gRPC (HTTP/2, gzip) with @connectrpc/connect-node. `https://HOST:PORT`
 * turns TLS on. The retryable status codes of the OTLP spec (UNAVAILABLE,
 * DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, CANCELLED, OUT_OF_RANGE,
 * DATA_LOSS) are transient; other codes drop the window.
 *
 * @module
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import {
  compressionGzip,
  createGrpcTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { ProfilesService } from "../../gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.ts";
import type { ProfileWindow } from "../../pipeline/model.ts";
import { TransientExportError } from "../exporter.ts";
import { buildProfilesData, toExportRequest } from "./build.ts";
import {
  DEFAULT_TIMEOUT_MS,
  normalizeGrpcEndpoint,
  type OtlpConnection,
} from "./config.ts";
import type { OtlpExporter } from "./http.ts";
import type { ResourceDefaults } from "./resource.ts";

/** Options of {@linkcode createOtlpGrpcExporter}. */
export interface OtlpGrpcOptions extends Partial<OtlpConnection> {
  /** Shared resource attributes; from the environment when absent. */
  readonly defaults?: ResourceDefaults;
}

const RETRYABLE = new Set<Code>([
  Code.Unavailable,
  Code.DeadlineExceeded,
  Code.ResourceExhausted,
  Code.Aborted,
  Code.Canceled,
  Code.OutOfRange,
  Code.DataLoss,
]);

/**
 * Creates the OTLP/gRPC exporter. The HTTP/2 connection opens lazily on the
 * first export and reconnects after failures.
 *
 * @param target `HOST:PORT`, `http://HOST:PORT` or `https://HOST:PORT`.
 * @param options Headers, timeout, gzip.
 * @returns The exporter.
 *
 * @example
 * ```ts
 * import { createOtlpGrpcExporter } from "./grpc.ts";
 * const exporter = createOtlpGrpcExporter("127.0.0.1:4317");
 * await exporter.close();
 * ```
 */
export function createOtlpGrpcExporter(
  target: string,
  options: OtlpGrpcOptions = {},
): OtlpExporter {
  const baseUrl = normalizeGrpcEndpoint(target);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const gzip = options.gzip ?? true;
  const headers = options.headers ?? {};
  const sessions = new Http2SessionManager(baseUrl);
  const transport = createGrpcTransport({
    baseUrl,
    sessionManager: sessions,
    acceptCompression: [compressionGzip],
    ...(gzip ? { sendCompression: compressionGzip, compressMinBytes: 1 } : {}),
    // The Collector's default gRPC receive limit is 4 MiB; stay well above
    // what one window needs but bounded.
    writeMaxBytes: 64 * 1024 * 1024,
  });
  const client = createClient(ProfilesService, transport);
  let rejected = 0;
  let lastMessage: string | undefined;
  return {
    name: `otlp-grpc:${baseUrl}`,
    get rejectedProfiles() {
      return rejected;
    },
    get lastRejectMessage() {
      return lastMessage;
    },
    async export(window: ProfileWindow): Promise<void> {
      const request = toExportRequest(
        buildProfilesData(
          window,
          options.defaults ? { defaults: options.defaults } : {},
        ),
      );
      try {
        const reply = await client.export(request, { headers, timeoutMs });
        const partial = reply.partialSuccess;
        if (
          partial && (partial.rejectedProfiles > 0n || partial.errorMessage)
        ) {
          rejected += Number(partial.rejectedProfiles);
          lastMessage = partial.errorMessage;
        }
      } catch (cause) {
        const err = ConnectError.from(cause);
        const message = `Cannot export profiles to ${baseUrl} over gRPC: ${
          Code[err.code]
        }: ${err.rawMessage}`;
        if (RETRYABLE.has(err.code)) {
          throw new TransientExportError(message, { cause });
        }
        throw new Error(message, { cause });
      }
    },
    close(): Promise<void> {
      sessions.abort();
      return Promise.resolve();
    },
  };
}
