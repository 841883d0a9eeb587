/**
 * `otlp-file:PATH` — writes each window as one ProfilesData message: binary
 * protobuf (what profcheck reads), or OTLP/JSON when PATH ends in `.json`.
 * One file per window; see {@linkcode windowPath} for the names.
 *
 * @module
 */
import { fromJson, type JsonValue, toBinary, toJson } from "@bufbuild/protobuf";
import {
  type ProfilesData,
  ProfilesDataSchema,
} from "../../gen/opentelemetry/proto/profiles/v1development/profiles_pb.ts";
import type { ProfileWindow } from "../../pipeline/model.ts";
import type { Exporter } from "../exporter.ts";
import { windowPath } from "../_window_path.ts";
import { buildProfilesData } from "./build.ts";
import type { ResourceDefaults } from "./resource.ts";

/** Options of {@linkcode createOtlpFileExporter}. */
export interface OtlpFileOptions {
  /** Shared resource attributes; from the environment when absent. */
  readonly defaults?: ResourceDefaults;
}

/**
 * Creates the OTLP file exporter.
 *
 * @param path Output path; `.json` selects OTLP/JSON.
 * @param options Resource defaults.
 * @returns The exporter.
 *
 * @example
 * ```ts
 * import { createOtlpFileExporter } from "./file.ts";
 * const exporter = createOtlpFileExporter(await Deno.makeTempFile({ suffix: ".pb" }));
 * await exporter.close();
 * ```
 */
export function createOtlpFileExporter(
  path: string,
  options: OtlpFileOptions = {},
): Exporter {
  const json = path.toLowerCase().endsWith(".json");
  let index = 0;
  return {
    name: `otlp-file:${path}`,
    async export(window: ProfileWindow): Promise<void> {
      const data = buildProfilesData(
        window,
        options.defaults ? { defaults: options.defaults } : {},
      );
      const file = windowPath(path, index++);
      if (json) {
        await Deno.writeTextFile(file, JSON.stringify(toOtlpJson(data)) + "\n");
      } else {
        await Deno.writeFile(file, toBinary(ProfilesDataSchema, data));
      }
    },
    close(): Promise<void> {
      return Promise.resolve();
    },
  };
}

/**
 * ProfilesData as OTLP/JSON: proto3 JSON (lowerCamelCase names, 64-bit
 * integers as strings, enums as numbers) except that trace, span and profile
 * ids are hex strings instead of base64, as the OTLP spec requires.
 *
 * @param data The message.
 * @returns A JSON-serializable object.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { create } from "@bufbuild/protobuf";
 * import { ProfilesDataSchema, ProfileSchema, ResourceProfilesSchema, ScopeProfilesSchema } from "../../gen/opentelemetry/proto/profiles/v1development/profiles_pb.ts";
 * import { toOtlpJson } from "./file.ts";
 * const data = create(ProfilesDataSchema, { resourceProfiles: [create(ResourceProfilesSchema, {
 *   scopeProfiles: [create(ScopeProfilesSchema, { profiles: [create(ProfileSchema, { profileId: new Uint8Array([1, 255]) })] })] })] });
 * const json = toOtlpJson(data) as { resourceProfiles: { scopeProfiles: { profiles: { profileId: string }[] }[] }[] };
 * strictEqual(json.resourceProfiles[0]!.scopeProfiles[0]!.profiles[0]!.profileId, "01ff");
 * ```
 */
export function toOtlpJson(data: ProfilesData): unknown {
  const json = toJson(ProfilesDataSchema, data, { enumAsInteger: true });
  mapIds(json as OtlpJsonIds, base64ToHex);
  return json;
}

/**
 * Decodes OTLP/JSON (hex ids, as {@linkcode toOtlpJson} and other OTLP
 * senders write them) back into ProfilesData.
 *
 * @param json Parsed OTLP/JSON.
 * @returns The message.
 */
export function fromOtlpJson(json: unknown): ProfilesData {
  // Protobuf JSON (fromJson) wants base64 where OTLP/JSON has hex.
  const copy = structuredClone(json) as OtlpJsonIds;
  mapIds(copy, hexToBase64);
  return fromJson(ProfilesDataSchema, copy as JsonValue);
}

/** The id fields OTLP/JSON encodes as hex instead of protobuf JSON's base64. */
interface OtlpJsonIds {
  resourceProfiles?: {
    scopeProfiles?: { profiles?: { profileId?: string }[] }[];
  }[];
  dictionary?: { linkTable?: { traceId?: string; spanId?: string }[] };
}

function mapIds(json: OtlpJsonIds, convert: (id: string) => string): void {
  for (const rp of json.resourceProfiles ?? []) {
    for (const sp of rp.scopeProfiles ?? []) {
      for (const p of sp.profiles ?? []) {
        if (p.profileId) p.profileId = convert(p.profileId);
      }
    }
  }
  for (const link of json.dictionary?.linkTable ?? []) {
    if (link.traceId) link.traceId = convert(link.traceId);
    if (link.spanId) link.spanId = convert(link.spanId);
  }
}

function base64ToHex(b64: string): string {
  const bin = atob(b64);
  let out = "";
  for (let i = 0; i < bin.length; i++) {
    out += bin.charCodeAt(i).toString(16).padStart(2, "0");
  }
  return out;
}

function hexToBase64(h: string): string {
  let bin = "";
  for (let i = 0; i + 1 < h.length; i += 2) {
    bin += String.fromCharCode(parseInt(h.slice(i, i + 2), 16));
  }
  return btoa(bin);
}
