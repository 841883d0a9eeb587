/**
 * The agent's command line: flags, defaults, validation and `--help`. Parsing
 * is pure (no I/O) so it is tested directly; a bad flag becomes a
 * {@linkcode UsageError} that the entry point prints with the usage text and
 * exit code 2.
 *
 * @module
 */
import { parseArgs } from "node:util";

/** A flag the user got wrong. */
export class UsageError extends Error {
  /**
   * @param message What is wrong with the command line.
   */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** How user stacks are unwound. */
export type UnwindMode = "cfi" | "fp";

/** The parsed command line. */
export interface AgentOptions {
  /** Processes to profile; empty means the whole system. */
  readonly pids: readonly number[];
  /** Seconds to run, or `undefined` to run until SIGINT/SIGTERM. */
  readonly durationSeconds: number | undefined;
  /** Samples per second per CPU. */
  readonly frequency: number;
  /** Seconds per reporting window. */
  readonly intervalSeconds: number;
  /** `KIND:TARGET` exporter specs, in the order given. */
  readonly exporters: readonly string[];
  /** Folder for the embedded default's outputs. */
  readonly outputDir: string;
  /** Folder to record raw samples, maps and binaries into, when set. */
  readonly recordDir: string | undefined;
  /** Bytes of user stack copied per sample. */
  readonly stackBytes: number;
  /** Unwinding method for user stacks. */
  readonly unwind: UnwindMode;
  /** Functions listed in the summary. */
  readonly top: number;
  /** No summary on stdout. */
  readonly quiet: boolean;
  /** `--help` was given. */
  readonly help: boolean;
}

/** Default duration of the embedded default (no exporter, no OTLP endpoint). */
export const DEFAULT_EMBEDDED_DURATION_SECONDS = 10;

/** The `--help` text. */
export const USAGE =
  `denoprof: a CPU profiler for Go, cgo and native code (eBPF + Deno)

Usage: deno task agent [options]

Samples every CPU (or only --pid processes) with an eBPF program, unwinds and
symbolizes kernel, native and Go stacks, and exports one profile per interval.
With no --exporter and no OTEL_EXPORTER_OTLP_ENDPOINT it profiles the whole
machine for ${DEFAULT_EMBEDDED_DURATION_SECONDS} s, writes folded, pprof and OTLP files under --output and prints a
summary of the top functions.

Options:
  --pid PID[,PID...]      profile only these processes (default: all)
  --duration SECONDS      stop after this long, flush and exit 0
                          (default: until SIGINT/SIGTERM, which also flush)
  --frequency HZ          samples per second per CPU (default 19)
  --interval SECONDS      reporting window (default 5)
  --exporter KIND:TARGET  where profiles go; repeatable:
                            folded:PATH       folded stacks (flamegraph.pl, speedscope)
                            pprof:PATH        gzipped pprof profile
                            otlp-file:PATH    binary OTLP ProfilesData (.json: OTLP/JSON)
                            otlp-grpc:HOST:PORT   OTLP/gRPC to a Collector
                            otlp-http:URL     OTLP/HTTP to a Collector
  --output DIR            folder of the embedded default's files (default ./denoprof-out)
  --record DIR            also record raw samples, maps and binaries for replay
  --stack-bytes N         user stack bytes copied per sample (default 16384, max 65536)
  --unwind cfi|fp         user stack unwinding: CFI with frame-pointer fallback
                          (default), or frame pointers only
  --top N                 functions in the summary (default 15)
  --quiet                 no summary
  -h, --help              this text

Environment: OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT,
OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_EXPORTER_OTLP_HEADERS, OTEL_SERVICE_NAME and
OTEL_RESOURCE_ATTRIBUTES work as in other OpenTelemetry tools.

Needs root (or CAP_BPF + CAP_PERFMON + CAP_SYS_PTRACE) and a kernel with BTF.
`;

function positiveNumber(flag: string, raw: string, max: number): number {
  const v = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(v) || v <= 0 || v > max) {
    throw new UsageError(
      `--${flag} must be a number in (0, ${max}]: got ${JSON.stringify(raw)}`,
    );
  }
  return v;
}

function positiveInteger(flag: string, raw: string, max: number): number {
  const v = positiveNumber(flag, raw, max);
  if (!Number.isInteger(v)) {
    throw new UsageError(
      `--${flag} must be a whole number: got ${JSON.stringify(raw)}`,
    );
  }
  return v;
}

/**
 * Parses the agent's arguments.
 *
 * @param args Arguments after the program name.
 * @returns The options.
 * @throws {UsageError} on an unknown flag, a missing or bad value.
 *
 * @example
 * ```ts
 * import { parseAgentArgs } from "./options.ts";
 * const o = parseAgentArgs(["--pid", "1,2", "--duration", "3", "--exporter", "folded:/tmp/x"]);
 * console.assert(o.pids.length === 2 && o.durationSeconds === 3);
 * ```
 */
export function parseAgentArgs(args: readonly string[]): AgentOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        pid: { type: "string", multiple: true },
        duration: { type: "string" },
        frequency: { type: "string" },
        interval: { type: "string" },
        exporter: { type: "string", multiple: true },
        output: { type: "string" },
        record: { type: "string" },
        "stack-bytes": { type: "string" },
        unwind: { type: "string" },
        top: { type: "string" },
        quiet: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  const pids: number[] = [];
  for (const list of v.pid ?? []) {
    for (const part of list.split(",")) {
      const pid = Number(part);
      if (
        part.trim() === "" || !Number.isInteger(pid) || pid <= 0 ||
        pid > 0x400000
      ) {
        throw new UsageError(
          `--pid takes process ids separated by commas: got ${
            JSON.stringify(list)
          }`,
        );
      }
      if (!pids.includes(pid)) pids.push(pid);
    }
  }
  const exporters = v.exporter ?? [];
  for (const spec of exporters) {
    if (!/^[a-z-]+:.+/.test(spec)) {
      throw new UsageError(
        `--exporter takes KIND:TARGET, e.g. folded:out.folded: got ${
          JSON.stringify(spec)
        }`,
      );
    }
  }
  const unwind = v.unwind ?? "cfi";
  if (unwind !== "cfi" && unwind !== "fp") {
    throw new UsageError(
      `--unwind must be cfi or fp: got ${JSON.stringify(unwind)}`,
    );
  }
  return {
    pids,
    durationSeconds: v.duration === undefined
      ? undefined
      : positiveNumber("duration", v.duration, 365 * 86400),
    frequency: v.frequency === undefined
      ? 19
      : positiveInteger("frequency", v.frequency, 10000),
    intervalSeconds: v.interval === undefined
      ? 5
      : positiveNumber("interval", v.interval, 3600),
    exporters,
    outputDir: v.output ?? "denoprof-out",
    recordDir: v.record,
    stackBytes: v["stack-bytes"] === undefined
      ? 16384
      : positiveInteger("stack-bytes", v["stack-bytes"], 65536),
    unwind,
    top: v.top === undefined ? 15 : positiveInteger("top", v.top, 10000),
    quiet: v.quiet ?? false,
    help: v.help ?? false,
  };
}
