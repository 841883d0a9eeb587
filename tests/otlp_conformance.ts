/**
 * denoprof's own conformance checker for OTLP profiles (v1development, proto
 * v1.11.0), written from the rules stated in the comments of profiles.proto
 * and summarized in shared/reference/otlp-profiles.md. It checks what
 * profcheck checks, in the same spirit, and always runs: profcheck itself is
 * not installable on the project machines (the Go module proxy answers 403 for
 * its module), so this is the checker every otlp-file output of the suite goes
 * through.
 *
 * Rules (the `rule` field of a {@linkcode Violation}):
 *
 * | rule               | what it checks                                                                                  |
 * | ------------------ | ----------------------------------------------------------------------------------------------- |
 * | `dictionary`       | the message has a dictionary and every one of its seven tables is present                       |
 * | `zero-row`         | row 0 of every table is the zero value (`""`, empty Mapping/Location/Function/Link/Stack/attr)  |
 * | `index-bounds`     | every `*_index`, `*_indices` and `*_strindex` points inside its table (and is not negative)     |
 * | `zero-reference`   | stacks, lines and attribute lists never point at row 0 (the zero row means "unset")             |
 * | `attribute`        | attribute rows have a non-empty key and a value; keys are unique within one attribute list      |
 * | `duplicate-row`    | no two rows of a table are equal (only with `checkDupes`)                                       |
 * | `duplicate-sample` | no two samples of a profile share {stack, set of attributes, link} (only with `checkDupes`)     |
 * | `orphan-row`       | every row ≥ 1 is reachable from a resource, scope or profile (only with `checkOrphans`)         |
 * | `sample-shape`     | each sample has values or timestamps; with both, equal lengths; one shape per profile           |
 * | `timestamp-range`  | every sample timestamp lies in `[time_unix_nano, time_unix_nano + duration_nano)`               |
 * | `profile`          | sample type named; period > 0 when a period type is named; profile_id 16 bytes, not all zero    |
 * | `link`             | link rows ≥ 1 carry a 16-byte trace id and an 8-byte span id                                    |
 * | `mapping`          | mapping rows ≥ 1 have memory_start ≤ memory_limit                                               |
 *
 * `zero-reference` is stricter than the letter of the proto comments (which
 * only make index 0 the "unset" value); denoprof never emits such references
 * and a receiver would drop them as empty.
 *
 * @example Check a message built by the otlp exporters
 * ```ts
 * import { buildProfilesData } from "../exporters/otlp/build.ts";
 * import { checkProfilesData } from "./otlp_conformance.ts";
 * import { smallWindow } from "./otlp_fixtures.ts";
 * const problems = checkProfilesData(buildProfilesData(smallWindow()));
 * console.assert(problems.length === 0, problems);
 * ```
 *
 * @module
 */
import { fromBinary } from "@bufbuild/protobuf";
import { fromOtlpJson } from "../exporters/otlp/file.ts";
import type {
  AnyValue,
  KeyValue,
} from "../gen/opentelemetry/proto/common/v1/common_pb.ts";
import {
  type Profile,
  type ProfilesData,
  ProfilesDataSchema,
  type ProfilesDictionary,
  type Sample,
} from "../gen/opentelemetry/proto/profiles/v1development/profiles_pb.ts";

/** One broken rule. */
export interface Violation {
  /** Rule id, see the module documentation. */
  readonly rule: string;
  /** Where, e.g. `dictionary.location_table[3].lines[0].function_index`. */
  readonly path: string;
  /** What is wrong. */
  readonly message: string;
}

/** Options of {@linkcode checkProfilesData}. */
export interface ConformanceOptions {
  /** Check for duplicate table rows and samples (default true). */
  readonly checkDupes?: boolean;
  /** Check for unreachable table rows (default true). */
  readonly checkOrphans?: boolean;
}

/** Table names as the proto spells them, in field order. */
const TABLES = [
  "mapping_table",
  "location_table",
  "function_table",
  "link_table",
  "string_table",
  "attribute_table",
  "stack_table",
] as const;
type TableName = typeof TABLES[number];

/** Rows of each table reached from the message's roots. */
type Reached = Record<TableName, Set<number>>;

/** Stops runaway reports on a badly broken message. */
const MAX_VIOLATIONS = 1000;

/**
 * Checks one ProfilesData (or ExportProfilesServiceRequest, which has the same
 * two fields) against the rules above.
 *
 * @param data The decoded message.
 * @param options Which optional checks run (both on by default, like
 * `profcheck -check-dupes -check-orphans`).
 * @returns Every violation found (at most 1,000), empty when conformant.
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import { ProfilesDataSchema } from "../gen/opentelemetry/proto/profiles/v1development/profiles_pb.ts";
 * import { checkProfilesData } from "./otlp_conformance.ts";
 * const v = checkProfilesData(create(ProfilesDataSchema));
 * console.assert(v[0]?.rule === "dictionary");
 * ```
 */
export function checkProfilesData(
  data: Pick<ProfilesData, "resourceProfiles" | "dictionary">,
  options: ConformanceOptions = {},
): Violation[] {
  const out: Violation[] = [];
  const report = (rule: string, path: string, message: string) => {
    if (out.length < MAX_VIOLATIONS) out.push({ rule, path, message });
  };
  const d = data.dictionary;
  if (d === undefined) {
    report("dictionary", "dictionary", "missing");
    return out;
  }
  const sizes: Record<TableName, number> = {
    mapping_table: d.mappingTable.length,
    location_table: d.locationTable.length,
    function_table: d.functionTable.length,
    link_table: d.linkTable.length,
    string_table: d.stringTable.length,
    attribute_table: d.attributeTable.length,
    stack_table: d.stackTable.length,
  };
  for (const t of TABLES) {
    if (sizes[t] === 0) {
      report(
        "dictionary",
        `dictionary.${t}`,
        "empty: row 0 (the zero value) must be present",
      );
    }
  }
  checkZeroRows(d, report);

  const reached: Reached = {
    mapping_table: new Set(),
    location_table: new Set(),
    function_table: new Set(),
    link_table: new Set(),
    string_table: new Set(),
    attribute_table: new Set(),
    stack_table: new Set(),
  };
  /** Bounds check; records the reference; false when out of range. */
  const ref = (
    table: TableName,
    index: number,
    path: string,
    allowZero: boolean,
  ): boolean => {
    if (!Number.isInteger(index) || index < 0 || index >= sizes[table]) {
      report(
        "index-bounds",
        path,
        `${index} is outside ${table} [0, ${sizes[table]})`,
      );
      return false;
    }
    if (index === 0 && !allowZero) {
      report("zero-reference", path, `points at the zero row of ${table}`);
      return false;
    }
    reached[table].add(index);
    return true;
  };
  const str = (index: number, path: string) =>
    ref("string_table", index, path, true);
  const value = (v: AnyValue | undefined, path: string) => {
    if (v === undefined) return;
    switch (v.value.case) {
      case "stringValueStrindex":
        str(v.value.value, `${path}.string_value_strindex`);
        break;
      case "arrayValue":
        v.value.value.values.forEach((x, i) =>
          value(x, `${path}.array_value[${i}]`)
        );
        break;
      case "kvlistValue":
        keyValues(v.value.value.values, `${path}.kvlist_value`);
        break;
    }
  };
  const keyValues = (kvs: readonly KeyValue[], path: string) => {
    const keys = new Set<string>();
    kvs.forEach((kv, i) => {
      const p = `${path}[${i}]`;
      let key = kv.key;
      if (kv.keyStrindex !== 0 && str(kv.keyStrindex, `${p}.key_strindex`)) {
        key = d.stringTable[kv.keyStrindex]!;
      }
      if (key === "") report("attribute", p, "empty key");
      else if (keys.has(key)) {
        report("attribute", p, `duplicate key ${JSON.stringify(key)}`);
      }
      keys.add(key);
      value(kv.value, `${p}.value`);
    });
  };
  /** An attribute_indices list: bounds, non-zero, unique keys. */
  const attributeList = (indices: readonly number[], path: string) => {
    const keys = new Map<number, number>();
    indices.forEach((ai, i) => {
      const p = `${path}[${i}]`;
      if (!ref("attribute_table", ai, p, false)) return;
      const key = d.attributeTable[ai]!.keyStrindex;
      const prev = keys.get(key);
      if (prev !== undefined) {
        report(
          "attribute",
          p,
          `key ${
            JSON.stringify(d.stringTable[key] ?? key)
          } repeats entry [${prev}]`,
        );
      }
      keys.set(key, i);
    });
  };

  // Roots: resources, scopes, profiles and their samples.
  data.resourceProfiles.forEach((rp, r) => {
    const rpath = `resource_profiles[${r}]`;
    keyValues(rp.resource?.attributes ?? [], `${rpath}.resource.attributes`);
    rp.scopeProfiles.forEach((sp, s) => {
      const spath = `${rpath}.scope_profiles[${s}]`;
      keyValues(sp.scope?.attributes ?? [], `${spath}.scope.attributes`);
      sp.profiles.forEach((p, i) =>
        checkProfile(
          p,
          `${spath}.profiles[${i}]`,
          report,
          ref,
          str,
          attributeList,
          options,
        )
      );
    });
  });

  // Rows reached so far reach further rows; walk the tables in dependency
  // order (stack → location → mapping/function → string), checking each row
  // that is reached once.
  for (const si of [...reached.stack_table]) {
    d.stackTable[si]!.locationIndices.forEach((li, k) =>
      ref(
        "location_table",
        li,
        `dictionary.stack_table[${si}].location_indices[${k}]`,
        false,
      )
    );
  }
  for (const li of [...reached.location_table]) {
    const loc = d.locationTable[li]!;
    const p = `dictionary.location_table[${li}]`;
    ref("mapping_table", loc.mappingIndex, `${p}.mapping_index`, true);
    loc.lines.forEach((line, k) =>
      ref(
        "function_table",
        line.functionIndex,
        `${p}.lines[${k}].function_index`,
        false,
      )
    );
    attributeList(loc.attributeIndices, `${p}.attribute_indices`);
  }
  for (const mi of [...reached.mapping_table]) {
    const m = d.mappingTable[mi]!;
    const p = `dictionary.mapping_table[${mi}]`;
    str(m.filenameStrindex, `${p}.filename_strindex`);
    attributeList(m.attributeIndices, `${p}.attribute_indices`);
    if (mi > 0 && m.memoryStart > m.memoryLimit) {
      report(
        "mapping",
        p,
        `memory_start ${m.memoryStart} > memory_limit ${m.memoryLimit}`,
      );
    }
  }
  for (const fi of [...reached.function_table]) {
    const f = d.functionTable[fi]!;
    const p = `dictionary.function_table[${fi}]`;
    str(f.nameStrindex, `${p}.name_strindex`);
    str(f.systemNameStrindex, `${p}.system_name_strindex`);
    str(f.filenameStrindex, `${p}.filename_strindex`);
  }
  for (const ki of [...reached.link_table]) {
    const l = d.linkTable[ki]!;
    if (ki > 0 && (l.traceId.length !== 16 || l.spanId.length !== 8)) {
      report(
        "link",
        `dictionary.link_table[${ki}]`,
        `trace_id ${l.traceId.length} bytes, span_id ${l.spanId.length} bytes (want 16 and 8)`,
      );
    }
  }
  for (const ai of [...reached.attribute_table]) {
    const kv = d.attributeTable[ai]!;
    const p = `dictionary.attribute_table[${ai}]`;
    if (
      str(kv.keyStrindex, `${p}.key_strindex`) &&
      d.stringTable[kv.keyStrindex] === ""
    ) {
      report("attribute", p, "empty key");
    }
    str(kv.unitStrindex, `${p}.unit_strindex`);
    if (kv.value === undefined || kv.value.value.case === undefined) {
      report("attribute", p, "no value");
    }
    value(kv.value, `${p}.value`);
  }

  if (options.checkOrphans ?? true) {
    for (const t of TABLES) {
      for (let i = 1; i < sizes[t]; i++) {
        if (!reached[t].has(i)) {
          report(
            "orphan-row",
            `dictionary.${t}[${i}]`,
            "no reachable message refers to this row",
          );
        }
      }
    }
  }
  if (options.checkDupes ?? true) checkDuplicateRows(d, report);
  return out;
}

type Report = (rule: string, path: string, message: string) => void;
type Ref = (
  table: TableName,
  index: number,
  path: string,
  allowZero: boolean,
) => boolean;

function checkProfile(
  p: Profile,
  path: string,
  report: Report,
  ref: Ref,
  str: (index: number, path: string) => boolean,
  attributeList: (indices: readonly number[], path: string) => void,
  options: ConformanceOptions,
): void {
  if (p.sampleType === undefined || p.sampleType.typeStrindex === 0) {
    report("profile", `${path}.sample_type`, "no sample type");
  }
  if (p.sampleType) {
    str(p.sampleType.typeStrindex, `${path}.sample_type.type_strindex`);
    str(p.sampleType.unitStrindex, `${path}.sample_type.unit_strindex`);
  }
  if (p.periodType) {
    str(p.periodType.typeStrindex, `${path}.period_type.type_strindex`);
    str(p.periodType.unitStrindex, `${path}.period_type.unit_strindex`);
    if (p.periodType.typeStrindex !== 0 && p.period <= 0n) {
      report("profile", `${path}.period`, `${p.period} with a period type set`);
    }
  }
  if (p.profileId.length > 0) {
    if (p.profileId.length !== 16) {
      report(
        "profile",
        `${path}.profile_id`,
        `${p.profileId.length} bytes, want 16`,
      );
    } else if (p.profileId.every((b) => b === 0)) {
      report("profile", `${path}.profile_id`, "all zeroes");
    }
  }
  attributeList(p.attributeIndices, `${path}.attribute_indices`);

  const start = p.timeUnixNano;
  const end = p.timeUnixNano + p.durationNano;
  let shape: string | undefined;
  const identities = new Map<string, number>();
  p.samples.forEach((s: Sample, i) => {
    const sp = `${path}.samples[${i}]`;
    ref("stack_table", s.stackIndex, `${sp}.stack_index`, true);
    ref("link_table", s.linkIndex, `${sp}.link_index`, true);
    attributeList(s.attributeIndices, `${sp}.attribute_indices`);
    const nv = s.values.length, nt = s.timestampsUnixNano.length;
    if (nv === 0 && nt === 0) {
      report("sample-shape", sp, "neither values nor timestamps");
    } else if (nv > 0 && nt > 0 && nv !== nt) {
      report("sample-shape", sp, `${nv} values but ${nt} timestamps`);
    }
    const mine = nv > 0 && nt > 0
      ? "values+timestamps"
      : nv > 0
      ? "values"
      : "timestamps";
    if (shape === undefined) shape = mine;
    else if (shape !== mine) {
      report("sample-shape", sp, `${mine} while earlier samples have ${shape}`);
    }
    s.timestampsUnixNano.forEach((t, k) => {
      if (t < start || t >= end) {
        report(
          "timestamp-range",
          `${sp}.timestamps_unix_nano[${k}]`,
          `${t} outside [${start}, ${end})`,
        );
      }
    });
    if (options.checkDupes ?? true) {
      const id = `${s.stackIndex}/${
        [...s.attributeIndices].sort((a, b) => a - b).join(",")
      }/${s.linkIndex}`;
      const prev = identities.get(id);
      if (prev !== undefined) {
        report(
          "duplicate-sample",
          sp,
          `same stack, attributes and link as samples[${prev}]: merge them`,
        );
      } else identities.set(id, i);
    }
  });
}

function checkZeroRows(d: ProfilesDictionary, report: Report): void {
  const zero = (table: TableName, ok: boolean, what: string) => {
    if (!ok) {
      report(
        "zero-row",
        `dictionary.${table}[0]`,
        `not the zero value: ${what}`,
      );
    }
  };
  const m = d.mappingTable[0];
  if (m) {
    zero(
      "mapping_table",
      m.memoryStart === 0n && m.memoryLimit === 0n && m.fileOffset === 0n &&
        m.filenameStrindex === 0 && m.attributeIndices.length === 0,
      describe(m),
    );
  }
  const l = d.locationTable[0];
  if (l) {
    zero(
      "location_table",
      l.mappingIndex === 0 && l.address === 0n && l.lines.length === 0 &&
        l.attributeIndices.length === 0,
      describe(l),
    );
  }
  const f = d.functionTable[0];
  if (f) {
    zero(
      "function_table",
      f.nameStrindex === 0 && f.systemNameStrindex === 0 &&
        f.filenameStrindex === 0 && f.startLine === 0n,
      describe(f),
    );
  }
  const k = d.linkTable[0];
  if (k) {
    zero(
      "link_table",
      k.traceId.length === 0 && k.spanId.length === 0,
      describe(k),
    );
  }
  if (d.stringTable.length > 0) {
    zero(
      "string_table",
      d.stringTable[0] === "",
      JSON.stringify(d.stringTable[0]),
    );
  }
  const a = d.attributeTable[0];
  if (a) {
    zero(
      "attribute_table",
      a.keyStrindex === 0 && a.unitStrindex === 0 &&
        (a.value === undefined || a.value.value.case === undefined),
      describe(a),
    );
  }
  const s = d.stackTable[0];
  if (s) zero("stack_table", s.locationIndices.length === 0, describe(s));
}

/** Compares rows by content, with attribute lists as sets. */
function checkDuplicateRows(d: ProfilesDictionary, report: Report): void {
  const set = (xs: readonly number[]) =>
    [...xs].sort((a, b) => a - b).join(",");
  const keyed: Record<TableName, (i: number) => string> = {
    mapping_table: (i) => {
      const m = d.mappingTable[i]!;
      return `${m.memoryStart}/${m.memoryLimit}/${m.fileOffset}/${m.filenameStrindex}/${
        set(m.attributeIndices)
      }`;
    },
    location_table: (i) => {
      const l = d.locationTable[i]!;
      return `${l.mappingIndex}/${l.address}/${
        l.lines.map((x) => `${x.functionIndex}:${x.line}:${x.column}`).join(";")
      }/${set(l.attributeIndices)}`;
    },
    function_table: (i) => {
      const f = d.functionTable[i]!;
      return `${f.nameStrindex}/${f.systemNameStrindex}/${f.filenameStrindex}/${f.startLine}`;
    },
    link_table: (i) => {
      const l = d.linkTable[i]!;
      return `${hex(l.traceId)}/${hex(l.spanId)}`;
    },
    string_table: (i) => d.stringTable[i]!,
    attribute_table: (i) => {
      const a = d.attributeTable[i]!;
      return `${d.stringTable[a.keyStrindex]}/${
        d.stringTable[a.unitStrindex]
      }/${anyValueKey(a.value, d.stringTable)}`;
    },
    stack_table: (i) => d.stackTable[i]!.locationIndices.join(","),
  };
  const sizes: Record<TableName, number> = {
    mapping_table: d.mappingTable.length,
    location_table: d.locationTable.length,
    function_table: d.functionTable.length,
    link_table: d.linkTable.length,
    string_table: d.stringTable.length,
    attribute_table: d.attributeTable.length,
    stack_table: d.stackTable.length,
  };
  for (const t of TABLES) {
    const seen = new Map<string, number>();
    for (let i = 0; i < sizes[t]; i++) {
      const k = keyed[t](i);
      const prev = seen.get(k);
      if (prev !== undefined) {
        report("duplicate-row", `dictionary.${t}[${i}]`, `equals row ${prev}`);
      } else seen.set(k, i);
    }
  }
}

function anyValueKey(
  v: AnyValue | undefined,
  strings: readonly string[],
): string {
  if (v === undefined || v.value.case === undefined) return "unset";
  switch (v.value.case) {
    case "stringValue":
      return `s:${v.value.value}`;
    case "stringValueStrindex":
      // Same string either way: the two forms are one value.
      return `s:${strings[v.value.value]}`;
    case "bytesValue":
      return `b:${hex(v.value.value)}`;
    case "arrayValue":
      return `a:[${
        v.value.value.values.map((x) => anyValueKey(x, strings)).join(",")
      }]`;
    case "kvlistValue":
      return `k:{${
        v.value.value.values.map((kv) =>
          `${kv.key || strings[kv.keyStrindex]}=${
            anyValueKey(kv.value, strings)
          }`
        ).join(",")
      }}`;
    default:
      return `${v.value.case}:${v.value.value}`;
  }
}

function hex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

function describe(row: object): string {
  return JSON.stringify(
    row,
    (k, v) =>
      k === "$typeName" ? undefined : typeof v === "bigint" ? String(v) : v,
  );
}

/**
 * Reads an otlp-file output: binary ProfilesData, or OTLP/JSON when the name
 * ends in `.json` (hex ids, as the otlp-file exporter writes them).
 *
 * @param path The file.
 * @returns The decoded message.
 */
export async function readOtlpFile(path: string): Promise<ProfilesData> {
  if (!path.toLowerCase().endsWith(".json")) {
    return fromBinary(ProfilesDataSchema, await Deno.readFile(path));
  }
  return fromOtlpJson(JSON.parse(await Deno.readTextFile(path)));
}

/**
 * Throws when a message breaks a rule, listing up to 20 violations.
 *
 * @param data The message.
 * @param label Names it in the error (a file path, "Collector output #2").
 * @param options Optional checks.
 * @throws {Error} with the violations.
 *
 * @example
 * ```ts
 * import { buildProfilesData } from "../exporters/otlp/build.ts";
 * import { assertConformant } from "./otlp_conformance.ts";
 * import { largeWindow } from "./otlp_fixtures.ts";
 * assertConformant(buildProfilesData(largeWindow(500, 50)), "large window");
 * ```
 */
export function assertConformant(
  data: Pick<ProfilesData, "resourceProfiles" | "dictionary">,
  label: string,
  options: ConformanceOptions = {},
): void {
  const v = checkProfilesData(data, options);
  if (v.length === 0) return;
  const shown = v.slice(0, 20).map((x) =>
    `  [${x.rule}] ${x.path}: ${x.message}`
  );
  if (v.length > 20) shown.push(`  … and ${v.length - 20} more`);
  throw new Error(
    `${label}: ${v.length} OTLP conformance violation(s):\n${shown.join("\n")}`,
  );
}

/**
 * Reads and checks every otlp-file output in `paths`.
 *
 * @param paths Files written by otlp-file exporters.
 * @param options Optional checks.
 * @returns The decoded messages, in order.
 * @throws {Error} on the first file that breaks a rule.
 */
export async function assertFilesConformant(
  paths: readonly string[],
  options: ConformanceOptions = {},
): Promise<ProfilesData[]> {
  const out: ProfilesData[] = [];
  for (const path of paths) {
    const data = await readOtlpFile(path);
    assertConformant(data, path, options);
    out.push(data);
  }
  return out;
}
