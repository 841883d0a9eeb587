/**
 * The conformance checker (tests/otlp_conformance.ts): every otlp-file
 * output of the synthetic windows passes it (binary and OTLP/JSON), and each
 * rule catches a message broken on purpose. Needs nothing but Deno: always
 * runs.
 */
import { clone, create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { AnyValueSchema } from "../gen/opentelemetry/proto/common/v1/common_pb.ts";
import {
  FunctionSchema,
  KeyValueAndUnitSchema,
  type ProfilesData,
  ProfilesDataSchema,
  SampleSchema,
} from "../gen/opentelemetry/proto/profiles/v1development/profiles_pb.ts";
import { buildProfilesData } from "../exporters/otlp/build.ts";
import { resourceDefaults } from "../exporters/otlp/resource.ts";
import { createExporter } from "../exporters/registry.ts";
import { assert, assertEquals } from "./assert.ts";
import {
  assertFilesConformant,
  checkProfilesData,
} from "./otlp_conformance.ts";
import { largeWindow, smallWindow } from "./otlp_fixtures.ts";

const defaults = resourceDefaults({}, { name: "testhost", arch: "x86_64" });

/** smallWindow() as a receiver sees it (through the wire). */
function small(): ProfilesData {
  return fromBinary(
    ProfilesDataSchema,
    toBinary(
      ProfilesDataSchema,
      buildProfilesData(smallWindow(), { defaults }),
    ),
  );
}

function rules(data: ProfilesData): string[] {
  return [...new Set(checkProfilesData(data).map((v) => v.rule))].sort();
}

Deno.test("conformance: otlp-file outputs (binary and OTLP/JSON) pass every rule", async () => {
  const dir = await Deno.makeTempDir({ prefix: "denoprof-conformance-" });
  try {
    for (const name of ["p.pb", "p.json"]) {
      const e = createExporter(`otlp-file:${dir}/${name}`, {});
      await e.export(smallWindow());
      await e.export(largeWindow(10_000, 500));
      // Not interned: the builder must deduplicate by value.
      await e.export(structuredClone(smallWindow()));
      await e.close();
    }
    const files = ["p.pb", "p.1.pb", "p.2.pb", "p.json", "p.1.json", "p.2.json"]
      .map((f) => `${dir}/${f}`);
    const data = await assertFilesConformant(files);
    assertEquals(data.length, 6);
    // The JSON reading path decodes to the same tables as the binary one.
    assertEquals(
      data[4]!.dictionary!.stringTable,
      data[1]!.dictionary!.stringTable,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("conformance: each rule catches a message broken on purpose", async (t) => {
  assertEquals(rules(small()), []);
  const cases: [string, (d: ProfilesData) => void, string[]][] = [
    ["no dictionary", (d) => void (d.dictionary = undefined), ["dictionary"]],
    [
      "string_table[0] is not empty",
      (d) => void (d.dictionary!.stringTable[0] = "x"),
      ["zero-row"],
    ],
    [
      "location_table[0] has an address",
      (d) => void (d.dictionary!.locationTable[0]!.address = 1n),
      ["zero-row"],
    ],
    [
      "a stack points past the location table",
      (d) => void d.dictionary!.stackTable[1]!.locationIndices.push(9999),
      ["index-bounds"],
    ],
    [
      "a sample points at a negative stack",
      (d) => void (samples(d)[0]!.stackIndex = -1),
      ["index-bounds", "orphan-row"],
    ],
    [
      "a line points at the zero function",
      (d) => void (d.dictionary!.locationTable[1]!.lines[0]!.functionIndex = 0),
      ["orphan-row", "zero-reference"],
    ],
    [
      "a duplicate string row",
      (d) => {
        const s = d.dictionary!.stringTable;
        s.push(s[1]!);
      },
      ["duplicate-row", "orphan-row"],
    ],
    [
      "an orphan function",
      (d) => {
        const f = d.dictionary!.functionTable;
        f.push(create(FunctionSchema, {
          nameStrindex: f[1]!.nameStrindex,
          startLine: 77n,
        }));
      },
      ["orphan-row"],
    ],
    [
      "two samples with one identity",
      (d) => {
        const s = samples(d);
        s.push(clone(SampleSchema, s[0]!));
      },
      ["duplicate-sample"],
    ],
    [
      "a timestamp at the window end",
      (d) => {
        const p = profile(d);
        samples(d)[0]!.timestampsUnixNano[0] = p.timeUnixNano + p.durationNano;
      },
      ["timestamp-range"],
    ],
    [
      "values and timestamps of different lengths",
      (d) => void (samples(d)[0]!.values = [1n]),
      ["sample-shape"],
    ],
    [
      "a sample with neither values nor timestamps",
      (d) => void (samples(d)[1]!.timestampsUnixNano = []),
      ["sample-shape"],
    ],
    [
      "an all-zero profile id",
      (d) => void (profile(d).profileId = new Uint8Array(16)),
      ["profile"],
    ],
    [
      "a repeated attribute key on one sample",
      (d) => {
        const s = samples(d)[0]!;
        const a = d.dictionary!.attributeTable;
        a.push(create(KeyValueAndUnitSchema, {
          keyStrindex: a[s.attributeIndices[0]!]!.keyStrindex,
          value: create(AnyValueSchema, {
            value: { case: "stringValue", value: "other" },
          }),
        }));
        s.attributeIndices.push(a.length - 1);
      },
      ["attribute"],
    ],
  ];
  for (const [name, mutate, want] of cases) {
    await t.step(name, () => {
      const d = small();
      mutate(d);
      assertEquals(rules(d), want);
    });
  }
});

Deno.test("conformance: the optional checks can be turned off like profcheck's flags", () => {
  const d = small();
  d.dictionary!.stringTable.push("orphan", "orphan");
  assert(checkProfilesData(d).some((v) => v.rule === "duplicate-row"));
  assertEquals(
    checkProfilesData(d, { checkDupes: false, checkOrphans: false }),
    [],
  );
});

function profile(d: ProfilesData) {
  return d.resourceProfiles[0]!.scopeProfiles[0]!.profiles[0]!;
}

function samples(d: ProfilesData) {
  return profile(d).samples;
}

Deno.test("conformance: a window without processes builds an empty, conformant message", () => {
  // The last window of a run cut by SIGTERM often has no samples: it must
  // not leave the value-type strings orphaned in the dictionary.
  const empty = buildProfilesData(
    { startUnixNano: 1_000n, durationNano: 10n, frequency: 19, processes: [] },
    { defaults },
  );
  const wire = fromBinary(
    ProfilesDataSchema,
    toBinary(ProfilesDataSchema, empty),
  );
  assertEquals(checkProfilesData(wire), []);
  assertEquals(wire.resourceProfiles.length, 0);
  assertEquals(wire.dictionary!.stringTable, [""]);
});
