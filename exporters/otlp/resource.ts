/**
 * Resource attributes: what the environment says (OTEL_SERVICE_NAME,
 * OTEL_RESOURCE_ATTRIBUTES), what the host is (host.name, host.arch) and what
 * each profiled process is (process.*, container.id, service.name).
 *
 * @module
 */
import type { ProcessInfo } from "../../pipeline/model.ts";
import {
  type AttributeValue,
  BUILD_ID_GNU,
  BUILD_ID_GO,
  BUILD_ID_HTLHASH,
  CONTAINER_ID,
  HOST_ARCH,
  HOST_NAME,
  PROCESS_COMMAND_LINE,
  PROCESS_EXECUTABLE_NAME,
  PROCESS_EXECUTABLE_PATH,
  PROCESS_PID,
  SERVICE_NAME,
} from "./attributes.ts";

/** Environment variables as a plain record (tests pass their own). */
export type Env = Readonly<Record<string, string | undefined>>;

/** Host facts and environment attributes shared by every resource. */
export interface ResourceDefaults {
  /** Attributes from OTEL_RESOURCE_ATTRIBUTES plus host.name and host.arch. */
  readonly attributes: ReadonlyMap<string, AttributeValue>;
  /** OTEL_SERVICE_NAME, else service.name of OTEL_RESOURCE_ATTRIBUTES. */
  readonly serviceName: string | undefined;
}

/**
 * Parses OTEL_RESOURCE_ATTRIBUTES: `key=value` pairs separated by commas,
 * keys and values percent-decoded (W3C Baggage octets). Malformed pairs are
 * skipped, as the SDKs do.
 *
 * @param value The variable's value.
 * @returns The attributes in order of appearance (a later key wins).
 *
 * @example Parse two attributes
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert";
 * import { parseResourceAttributes } from "./resource.ts";
 * assertEquals(
 *   [...parseResourceAttributes("deployment.environment=prod,team=a%20b")],
 *   [["deployment.environment", "prod"], ["team", "a b"]],
 * );
 * ```
 */
export function parseResourceAttributes(
  value: string | undefined,
): Map<string, string> {
  const out = new Map<string, string>();
  if (!value) return out;
  for (const pair of value.split(",")) {
    const eq = pair.indexOf("=");
    if (eq <= 0) continue;
    try {
      const key = decodeURIComponent(pair.slice(0, eq).trim());
      const val = decodeURIComponent(pair.slice(eq + 1).trim());
      if (key) out.set(key, val);
    } catch {
      // A malformed percent escape: skip the pair.
    }
  }
  return out;
}

/**
 * Maps Deno's architecture names to the semantic-convention values of
 * `host.arch`.
 *
 * @param arch `Deno.build.arch` or a similar name.
 * @returns `amd64`, `arm64`, or the input unchanged.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert";
 * import { hostArch } from "./resource.ts";
 * assertEquals(hostArch("x86_64"), "amd64");
 * ```
 */
export function hostArch(arch: string): string {
  if (arch === "x86_64") return "amd64";
  if (arch === "aarch64") return "arm64";
  return arch;
}

/**
 * Collects the attributes every resource of this agent carries.
 *
 * @param env Environment (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES).
 * @param host Host name and architecture; read from Deno when absent.
 * @returns The shared defaults.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert";
 * import { resourceDefaults } from "./resource.ts";
 * const d = resourceDefaults({ OTEL_SERVICE_NAME: "api" }, { name: "h", arch: "x86_64" });
 * assertEquals(d.serviceName, "api");
 * assertEquals(d.attributes.get("host.arch"), "amd64");
 * ```
 */
export function resourceDefaults(
  env: Env,
  host: { name?: string; arch?: string } = {},
): ResourceDefaults {
  const fromEnv = parseResourceAttributes(env["OTEL_RESOURCE_ATTRIBUTES"]);
  const attributes = new Map<string, AttributeValue>();
  const name = host.name ?? safeHostname();
  if (name) attributes.set(HOST_NAME, name);
  attributes.set(HOST_ARCH, hostArch(host.arch ?? Deno.build.arch));
  for (const [k, v] of fromEnv) if (k !== SERVICE_NAME) attributes.set(k, v);
  const serviceName = env["OTEL_SERVICE_NAME"] || fromEnv.get(SERVICE_NAME) ||
    undefined;
  return { attributes, serviceName };
}

/**
 * The resource attributes of one process: the defaults, then what denoprof
 * knows of the process (which wins over OTEL_RESOURCE_ATTRIBUTES), then
 * service.name (OTEL_SERVICE_NAME, else OTEL_RESOURCE_ATTRIBUTES, else the
 * executable name).
 *
 * @param process The profiled process.
 * @param defaults From {@linkcode resourceDefaults}.
 * @returns Attributes in emission order.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert";
 * import { processResource, resourceDefaults } from "./resource.ts";
 * const d = resourceDefaults({}, { name: "h", arch: "aarch64" });
 * const attrs = processResource({ pid: 7, name: "app", executablePath: "/bin/app" }, d);
 * assertEquals(attrs.get("service.name"), "app");
 * assertEquals(attrs.get("process.pid"), 7);
 * ```
 */
export function processResource(
  process: ProcessInfo,
  defaults: ResourceDefaults,
): Map<string, AttributeValue> {
  const out = new Map(defaults.attributes);
  const exeName = process.executablePath
    ? baseName(process.executablePath)
    : process.name;
  out.set(PROCESS_PID, process.pid);
  out.set(PROCESS_EXECUTABLE_NAME, exeName);
  if (process.executablePath) {
    out.set(PROCESS_EXECUTABLE_PATH, process.executablePath);
  }
  if (process.commandLine) out.set(PROCESS_COMMAND_LINE, process.commandLine);
  if (process.containerId) out.set(CONTAINER_ID, process.containerId);
  const ids = process.buildIds;
  if (ids?.gnu) out.set(BUILD_ID_GNU, ids.gnu);
  if (ids?.go) out.set(BUILD_ID_GO, ids.go);
  if (ids?.htlhash) out.set(BUILD_ID_HTLHASH, ids.htlhash);
  out.set(SERVICE_NAME, defaults.serviceName ?? exeName);
  return out;
}

function baseName(path: string): string {
  const i = path.lastIndexOf("/");
  return i >= 0 ? path.slice(i + 1) : path;
}

function safeHostname(): string | undefined {
  try {
    return Deno.hostname();
  } catch {
    return undefined;
  }
}
