/**
 * Turns a {@linkcode ProfileWindow} of the neutral model into OTLP profiles
 * (opentelemetry-proto v1.11.0): one ProfilesDictionary per export, one
 * ResourceProfiles per process, one ScopeProfiles naming denoprof, one Profile
 * per window.
 *
 * Samples carry `timestamps_unix_nano` and no `values` (each timestamp counts
 * one sample). That is the shape opentelemetry-ebpf-profiler emits and the one
 * profcheck checks by default; `values = [count]` beside several timestamps
 * would break profcheck's "same length" rule, and `values` of all ones adds
 * bytes for nothing. The Collector's OTLP→pprof translator (contrib) wants one
 * value per sample and so cannot convert these profiles; denoprof writes pprof
 * itself (`pprof:` exporter).
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import {
  AnyValueSchema,
  InstrumentationScopeSchema,
  type KeyValue,
  KeyValueSchema,
} from "../../gen/opentelemetry/proto/common/v1/common_pb.ts";
import { ResourceSchema } from "../../gen/opentelemetry/proto/resource/v1/resource_pb.ts";
import {
  ProfileSchema,
  type ProfilesData,
  ProfilesDataSchema,
  ResourceProfilesSchema,
  type Sample,
  SampleSchema,
  ScopeProfilesSchema,
  type ValueType,
  ValueTypeSchema,
} from "../../gen/opentelemetry/proto/profiles/v1development/profiles_pb.ts";
import {
  type ExportProfilesServiceRequest,
  ExportProfilesServiceRequestSchema,
} from "../../gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.ts";
import type { ProfileWindow, SampleAttributes } from "../../pipeline/model.ts";
import denoJson from "../../deno.json" with { type: "json" };
import { DictionaryBuilder } from "./_dictionary.ts";
import {
  type AttributeValue,
  CPU_LOGICAL_NUMBER,
  GO_GOROUTINE_ID,
  PPROF_LABEL_PREFIX,
  THREAD_ID,
  THREAD_NAME,
} from "./attributes.ts";
import {
  processResource,
  type ResourceDefaults,
  resourceDefaults,
} from "./resource.ts";

/** The instrumentation scope name on every profile. */
export const SCOPE_NAME = "denoprof";
/** denoprof's version, from deno.json. */
export const SCOPE_VERSION: string = denoJson.version;

/** Options of {@linkcode buildProfilesData}. */
export interface BuildOptions {
  /** Shared resource attributes; from `Deno.env` and the host when absent. */
  readonly defaults?: ResourceDefaults;
  /** Source of the 16-byte profile ids; crypto random when absent. */
  readonly profileId?: () => Uint8Array;
}

/**
 * Encodes one window as ProfilesData.
 *
 * @param window The window to encode.
 * @param options Resource defaults and id source.
 * @returns The message, ready for `toBinary(ProfilesDataSchema, …)`.
 *
 * @example Build a one-sample window
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { buildProfilesData } from "./build.ts";
 * const main = { kind: "native" as const, address: 0x401000n, lines: [{ functionName: "main" }] };
 * const data = buildProfilesData({
 *   startUnixNano: 1_000n, durationNano: 1_000_000_000n, frequency: 19,
 *   processes: [{ process: { pid: 1, name: "app" }, samples: [{
 *     stack: [main], attributes: { threadId: 1, threadName: "app", cpu: 0 },
 *     count: 1, timestampsUnixNano: [2_000n] }] }],
 * }, { defaults: { attributes: new Map(), serviceName: undefined } });
 * strictEqual(data.resourceProfiles.length, 1);
 * strictEqual(data.dictionary!.stringTable[0], "");
 * ```
 */
export function buildProfilesData(
  window: ProfileWindow,
  options: BuildOptions = {},
): ProfilesData {
  const defaults = options.defaults ?? resourceDefaults(Deno.env.toObject());
  const newId = options.profileId ?? randomProfileId;
  const dict = new DictionaryBuilder();
  // Interned on the first profile only: a window without processes must not
  // leave these strings in the dictionary with nothing referring to them.
  let valueTypes: { sampleType: ValueType; periodType: ValueType } | undefined;
  const types = () =>
    valueTypes ??= {
      sampleType: create(ValueTypeSchema, {
        typeStrindex: dict.string("samples"),
        unitStrindex: dict.string("count"),
      }),
      periodType: create(ValueTypeSchema, {
        typeStrindex: dict.string("cpu"),
        unitStrindex: dict.string("nanoseconds"),
      }),
    };
  const period = BigInt(Math.round(1e9 / window.frequency));
  const start = window.startUnixNano;
  const end = start + window.durationNano;
  const scope = create(InstrumentationScopeSchema, {
    name: SCOPE_NAME,
    version: SCOPE_VERSION,
  });

  const resourceProfiles = [];
  for (const { process, samples } of window.processes) {
    const bySample = new Map<string, Sample>();
    const out: Sample[] = [];
    for (const group of samples) {
      if (group.count === 0 || group.timestampsUnixNano.length === 0) continue;
      const stackIndex = dict.stack(group.stack);
      const attrs = sampleAttributeIndices(dict, group.attributes);
      const key = `${stackIndex}|${attrs}`;
      let sample = bySample.get(key);
      if (sample === undefined) {
        sample = create(SampleSchema, {
          stackIndex,
          attributeIndices: attrs,
        });
        bySample.set(key, sample);
        out.push(sample);
      }
      for (const ts of group.timestampsUnixNano) {
        // Keep every timestamp inside [start, end): a clock step must not
        // produce an invalid profile.
        sample.timestampsUnixNano.push(
          ts < start ? start : ts >= end ? end - 1n : ts,
        );
      }
    }
    const { sampleType, periodType } = types();
    const profile = create(ProfileSchema, {
      sampleType,
      samples: out,
      timeUnixNano: start,
      durationNano: window.durationNano,
      periodType,
      period,
      profileId: newId(),
    });
    resourceProfiles.push(create(ResourceProfilesSchema, {
      resource: create(ResourceSchema, {
        attributes: keyValues(processResource(process, defaults)),
      }),
      scopeProfiles: [create(ScopeProfilesSchema, {
        scope,
        profiles: [profile],
      })],
    }));
  }
  return create(ProfilesDataSchema, {
    resourceProfiles,
    dictionary: dict.build(),
  });
}

/**
 * Wraps ProfilesData as the request of the Collector's ProfilesService (the
 * same fields; no copy of the tables).
 *
 * @param data From {@linkcode buildProfilesData}.
 * @returns The gRPC / HTTP request message.
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import { ProfilesDataSchema } from "../../gen/opentelemetry/proto/profiles/v1development/profiles_pb.ts";
 * import { toExportRequest } from "./build.ts";
 * toExportRequest(create(ProfilesDataSchema));
 * ```
 */
export function toExportRequest(
  data: ProfilesData,
): ExportProfilesServiceRequest {
  return create(ExportProfilesServiceRequestSchema, {
    resourceProfiles: data.resourceProfiles,
    ...(data.dictionary ? { dictionary: data.dictionary } : {}),
  });
}

/**
 * A random 16-byte profile id (never all zeroes).
 *
 * @returns The id.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { randomProfileId } from "./build.ts";
 * strictEqual(randomProfileId().length, 16);
 * ```
 */
export function randomProfileId(): Uint8Array {
  const id = crypto.getRandomValues(new Uint8Array(16));
  if (id.every((b) => b === 0)) id[15] = 1;
  return id;
}

function sampleAttributeIndices(
  dict: DictionaryBuilder,
  a: SampleAttributes,
): number[] {
  const out = [
    dict.attribute(THREAD_ID, a.threadId),
    dict.attribute(THREAD_NAME, a.threadName),
    dict.attribute(CPU_LOGICAL_NUMBER, a.cpu),
  ];
  if (a.goroutineId !== undefined) {
    out.push(dict.attribute(GO_GOROUTINE_ID, a.goroutineId));
  }
  if (a.goLabels) {
    for (const key of Object.keys(a.goLabels).sort()) {
      out.push(dict.attribute(PPROF_LABEL_PREFIX + key, a.goLabels[key]!));
    }
  }
  return out;
}

function keyValues(attrs: ReadonlyMap<string, AttributeValue>): KeyValue[] {
  const out: KeyValue[] = [];
  for (const [key, v] of attrs) {
    out.push(create(KeyValueSchema, {
      key,
      value: create(AnyValueSchema, {
        value: typeof v === "string"
          ? { case: "stringValue", value: v }
          : { case: "intValue", value: BigInt(v) },
      }),
    }));
  }
  return out;
}
