/**
 * Starts the test OpenTelemetry Collector (built by scripts/collector.sh) on
 * free loopback ports: OTLP receiver on gRPC and HTTP, a file exporter writing
 * length-prefixed binary ProfilesData (`format: proto`) to a temp file, and
 * the debug exporter; `--feature-gates=service.profilesSupport`.
 *
 * ```ts ignore
 * await using collector = await startCollector();
 * // send to collector.grpcEndpoint / collector.httpEndpoint …
 * const messages = await collector.waitForProfiles(1);
 * ```
 *
 * @module
 */
import { fromBinary } from "@bufbuild/protobuf";
import {
  type ProfilesData,
  ProfilesDataSchema,
} from "../../gen/opentelemetry/proto/profiles/v1development/profiles_pb.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Where a cached tool is, or why the test cannot run. */
export interface ToolLookup {
  /** Absolute path when the tool is built. */
  readonly path: string | undefined;
  /** Why it is missing. */
  readonly missing: string;
}

/** The cache folder scripts/collector.sh builds into. */
export function cacheDir(): string {
  const env = Deno.env.get("DENOPROF_CACHE");
  if (env) return env;
  const xdg = Deno.env.get("XDG_CACHE_HOME") ??
    `${Deno.env.get("HOME")}/.cache`;
  return `${xdg}/denoprof`;
}

/** The Collector version pinned in scripts/collector.sh. */
export function collectorVersion(): string {
  const script = Deno.readTextFileSync(`${ROOT}scripts/collector.sh`);
  const m = /^COLLECTOR_VERSION="([^"]+)"/m.exec(script);
  if (!m) {
    throw new Error("Cannot find COLLECTOR_VERSION in scripts/collector.sh");
  }
  return m[1]!;
}

function lookup(name: string): ToolLookup {
  const path = `${cacheDir()}/otelcol-${collectorVersion()}/${name}`;
  try {
    Deno.statSync(path);
    return { path, missing: "" };
  } catch {
    return {
      path: undefined,
      missing: `${path} is missing: run \`make collector\``,
    };
  }
}

/** The built Collector binary. */
export function collectorBinary(): ToolLookup {
  return lookup("otelcol-denoprof");
}

/** The installed profcheck binary. */
export function profcheckBinary(): ToolLookup {
  return lookup("profcheck");
}

/**
 * Why profcheck cannot run here: it has no install path on the project
 * machines (the Go module proxy answers 403 for its module).
 */
export function profcheckMissing(): string {
  return `profcheck not built (${profcheckBinary().missing}); it cannot be ` +
    `installed here: the Go module proxy answers 403 "This module version is ` +
    `not available" for github.com/open-telemetry/sig-profiling/profcheck. ` +
    `Set PROFCHECK_SRC to a local checkout and run \`make profcheck\`. ` +
    `tests/otlp_conformance.ts checks the same rules on every otlp-file ` +
    `output meanwhile.`;
}

/**
 * Runs `profcheck -check-dupes -check-orphans` on a binary ProfilesData file.
 *
 * @param path The file.
 * @throws {Error} with profcheck's output when it fails, or
 * {@linkcode profcheckMissing} when there is no profcheck.
 */
export async function runProfcheck(path: string): Promise<void> {
  const bin = profcheckBinary().path;
  if (bin === undefined) throw new Error(profcheckMissing());
  const out = await new Deno.Command(bin, {
    args: ["-check-dupes", "-check-orphans", path],
  }).output();
  if (out.code !== 0) {
    const d = new TextDecoder();
    throw new Error(
      `profcheck failed on ${path} (exit ${out.code}):\n${
        d.decode(out.stdout)
      }${d.decode(out.stderr)}`,
    );
  }
}

/**
 * Whether a test needing `tool` should be ignored: only outside CI. In CI
 * (CI=true) the test runs and fails on the missing tool.
 *
 * @param tool From {@linkcode collectorBinary} or {@linkcode profcheckBinary}.
 * @returns True to ignore.
 */
export function ignoreWithout(tool: ToolLookup): boolean {
  return tool.path === undefined && Deno.env.get("CI") !== "true";
}

/**
 * The tool's path, or a thrown error naming what to do (CI without tools).
 *
 * @param tool A lookup.
 * @returns The path.
 */
export function requireTool(tool: ToolLookup): string {
  if (tool.path === undefined) throw new Error(tool.missing);
  return tool.path;
}

/** Picks a free loopback TCP port. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A running Collector. */
export interface RunningCollector extends AsyncDisposable {
  /** `127.0.0.1:PORT` of the OTLP gRPC receiver. */
  readonly grpcEndpoint: string;
  /** `http://127.0.0.1:PORT` of the OTLP HTTP receiver. */
  readonly httpEndpoint: string;
  /** Ports as numbers. */
  readonly grpcPort: number;
  /** Ports as numbers. */
  readonly httpPort: number;
  /** The file exporter's output. */
  readonly outputPath: string;
  /** Everything the Collector wrote to stderr/stdout so far. */
  logs(): string;
  /** Messages written by the file exporter so far. */
  readProfiles(): Promise<ProfilesData[]>;
  /** Polls the output until `n` messages are there (or throws after `timeoutMs`). */
  waitForProfiles(n: number, timeoutMs?: number): Promise<ProfilesData[]>;
  /** SIGTERM, wait for exit (SIGKILL after 10 s). Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL (a crash: nothing flushed), wait for exit. Idempotent. */
  crash(): Promise<void>;
}

/** Options of {@linkcode startCollector}. */
export interface CollectorOptions {
  /** Fixed ports (to restart a Collector on the same endpoint). */
  readonly grpcPort?: number;
  /** Fixed ports. */
  readonly httpPort?: number;
}

/**
 * Starts the Collector and waits until both receivers accept connections.
 *
 * @param options Ports.
 * @returns The running Collector; dispose it to stop it.
 */
export async function startCollector(
  options: CollectorOptions = {},
): Promise<RunningCollector> {
  const bin = requireTool(collectorBinary());
  const dir = await Deno.makeTempDir({ prefix: "denoprof-otelcol-" });
  const grpcPort = options.grpcPort ?? freePort();
  const httpPort = options.httpPort ?? freePort();
  const outputPath = `${dir}/profiles.pb`;
  // JSON is YAML: no YAML writer needed.
  const config = {
    receivers: {
      otlp: {
        protocols: {
          grpc: { endpoint: `127.0.0.1:${grpcPort}` },
          http: { endpoint: `127.0.0.1:${httpPort}` },
        },
      },
    },
    processors: {
      memory_limiter: { check_interval: "1s", limit_mib: 512 },
    },
    exporters: {
      debug: { verbosity: "basic" },
      file: { path: outputPath, format: "proto", flush_interval: "100ms" },
    },
    service: {
      telemetry: { metrics: { level: "none" } },
      pipelines: {
        profiles: {
          receivers: ["otlp"],
          processors: ["memory_limiter"],
          exporters: ["debug", "file"],
        },
      },
    },
  };
  const configPath = `${dir}/config.yaml`;
  await Deno.writeTextFile(configPath, JSON.stringify(config, null, 2));
  const child = new Deno.Command(bin, {
    args: [`--config=${configPath}`, "--feature-gates=service.profilesSupport"],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let log = "";
  const decoder = new TextDecoder();
  const drain = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s) log += decoder.decode(chunk, { stream: true });
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });

  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      if (!exited) {
        try {
          child.kill("SIGTERM");
        } catch { /* already gone */ }
        const timer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch { /* gone */ }
        }, 10_000);
        await status;
        clearTimeout(timer);
      }
      await drained;
    })();

  const readProfiles = async (): Promise<ProfilesData[]> => {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(outputPath);
    } catch {
      return [];
    }
    const out: ProfilesData[] = [];
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let pos = 0;
    while (pos + 4 <= bytes.length) {
      const len = view.getUint32(pos);
      if (pos + 4 + len > bytes.length) break; // a message still being written
      out.push(
        fromBinary(ProfilesDataSchema, bytes.subarray(pos + 4, pos + 4 + len)),
      );
      pos += 4 + len;
    }
    return out;
  };

  const collector: RunningCollector = {
    grpcEndpoint: `127.0.0.1:${grpcPort}`,
    httpEndpoint: `http://127.0.0.1:${httpPort}`,
    grpcPort,
    httpPort,
    outputPath,
    logs: () => log,
    readProfiles,
    async waitForProfiles(n, timeoutMs = 15_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const got = await readProfiles();
        if (got.length >= n) return got;
        if (Date.now() > until || exited) {
          throw new Error(
            `Collector wrote ${got.length} of ${n} messages in ${timeoutMs} ms; logs:\n${log}`,
          );
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    stop,
    crash() {
      if (!exited) {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }
      return stop();
    },
    async [Symbol.asyncDispose]() {
      await stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };

  const until = Date.now() + 30_000;
  for (;;) {
    if (exited) {
      await drained;
      throw new Error(`Collector exited during startup:\n${log}`);
    }
    if (await accepts(grpcPort) && await accepts(httpPort)) break;
    if (Date.now() > until) {
      await stop();
      throw new Error(`Collector not ready after 30 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return collector;
}

async function accepts(port: number): Promise<boolean> {
  try {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    c.close();
    return true;
  } catch {
    return false;
  }
}
