import { deepStrictEqual, ok, strictEqual } from "node:assert";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  type ProfilesData,
  ProfilesDataSchema,
} from "../../gen/opentelemetry/proto/profiles/v1development/profiles_pb.ts";
import type { ProfileWindow } from "../../pipeline/model.ts";
import { largeWindow, smallWindow } from "../../tests/otlp_fixtures.ts";
import { buildProfilesData, SCOPE_NAME } from "./build.ts";
import { resourceDefaults } from "./resource.ts";

const defaults = resourceDefaults(
  { OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=test" },
  { name: "testhost", arch: "x86_64" },
);

function build(w: ProfileWindow): ProfilesData {
  // Round-trip through the wire so the test sees what a receiver sees.
  return fromBinary(
    ProfilesDataSchema,
    toBinary(ProfilesDataSchema, buildProfilesData(w, { defaults })),
  );
}

/** Function names of a stack, leaf first, inlined frames expanded. */
function stackNames(data: ProfilesData, stackIndex: number): string[] {
  const d = data.dictionary!;
  const out: string[] = [];
  for (const li of d.stackTable[stackIndex]!.locationIndices) {
    for (const line of d.locationTable[li]!.lines) {
      out.push(
        d.stringTable[d.functionTable[line.functionIndex]!.nameStrindex]!,
      );
    }
  }
  return out;
}

function attrs(data: ProfilesData, indices: number[]): Record<string, unknown> {
  const d = data.dictionary!;
  const out: Record<string, unknown> = {};
  for (const i of indices) {
    const kv = d.attributeTable[i]!;
    out[d.stringTable[kv.keyStrindex]!] = kv.value?.value.value;
  }
  return out;
}

Deno.test("buildProfilesData() puts the zero value at index 0 of every table", () => {
  const d = build(smallWindow()).dictionary!;
  strictEqual(d.stringTable[0], "");
  deepStrictEqual(
    toBinary(ProfilesDataSchema, {
      ...build(smallWindow()),
      resourceProfiles: [],
    }).length > 0,
    true,
  );
  for (
    const [name, table] of Object.entries({
      mapping: d.mappingTable,
      location: d.locationTable,
      function: d.functionTable,
      link: d.linkTable,
      attribute: d.attributeTable,
      stack: d.stackTable,
    })
  ) {
    ok(table.length > 0, `${name} table is empty`);
    const row = table[0]! as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(row)) {
      if (k.startsWith("$")) continue;
      const zero = v === 0 || v === 0n || v === undefined ||
        (Array.isArray(v) && v.length === 0) ||
        (v instanceof Uint8Array && v.length === 0) ||
        (typeof v === "object" && v !== null && "case" in v &&
          v.case === undefined);
      ok(zero, `${name}_table[0].${k} is not zero: ${String(v)}`);
    }
  }
});

Deno.test("buildProfilesData() writes no duplicate and no orphan table rows", () => {
  for (const w of [smallWindow(), largeWindow(2000, 100)]) {
    // A copy without shared objects must deduplicate by value just as well.
    const copy: ProfileWindow = structuredClone(w);
    for (const window of [w, copy]) {
      const data = build(window);
      const d = data.dictionary!;
      const tables = {
        mapping: d.mappingTable,
        location: d.locationTable,
        function: d.functionTable,
        attribute: d.attributeTable,
        stack: d.stackTable,
        link: d.linkTable,
      };
      for (const [name, table] of Object.entries(tables)) {
        const seen = new Set<string>();
        for (const row of table) {
          const key = JSON.stringify(
            row,
            (_k, v) => typeof v === "bigint" ? `${v}n` : v,
          );
          ok(!seen.has(key), `duplicate ${name} row ${key}`);
          seen.add(key);
        }
      }
      strictEqual(new Set(d.stringTable).size, d.stringTable.length);
      // References.
      const used = {
        mapping: new Set([0]),
        location: new Set([0]),
        function: new Set([0]),
        attribute: new Set([0]),
        stack: new Set([0]),
        string: new Set([0]),
      };
      for (const rp of data.resourceProfiles) {
        for (const sp of rp.scopeProfiles) {
          for (const p of sp.profiles) {
            used.string.add(p.sampleType!.typeStrindex).add(
              p.sampleType!.unitStrindex,
            );
            used.string.add(p.periodType!.typeStrindex).add(
              p.periodType!.unitStrindex,
            );
            for (const s of p.samples) {
              used.stack.add(s.stackIndex);
              s.attributeIndices.forEach((i) => used.attribute.add(i));
            }
          }
        }
      }
      for (const i of used.stack) {
        d.stackTable[i]!.locationIndices.forEach((l) => used.location.add(l));
      }
      for (const i of used.location) {
        const loc = d.locationTable[i]!;
        used.mapping.add(loc.mappingIndex);
        loc.attributeIndices.forEach((a) => used.attribute.add(a));
        loc.lines.forEach((l) => used.function.add(l.functionIndex));
      }
      for (const i of used.mapping) {
        const m = d.mappingTable[i]!;
        used.string.add(m.filenameStrindex);
        m.attributeIndices.forEach((a) => used.attribute.add(a));
      }
      for (const i of used.function) {
        const f = d.functionTable[i]!;
        used.string.add(f.nameStrindex).add(f.systemNameStrindex).add(
          f.filenameStrindex,
        );
      }
      for (const i of used.attribute) {
        used.string.add(d.attributeTable[i]!.keyStrindex);
      }
      strictEqual(used.mapping.size, d.mappingTable.length, "orphan mappings");
      strictEqual(
        used.location.size,
        d.locationTable.length,
        "orphan locations",
      );
      strictEqual(
        used.function.size,
        d.functionTable.length,
        "orphan functions",
      );
      strictEqual(
        used.attribute.size,
        d.attributeTable.length,
        "orphan attributes",
      );
      strictEqual(used.stack.size, d.stackTable.length, "orphan stacks");
      strictEqual(used.string.size, d.stringTable.length, "orphan strings");
    }
  }
});

Deno.test("buildProfilesData() keeps stack order and inlined lines innermost first", () => {
  const data = build(smallWindow());
  const samples =
    data.resourceProfiles[0]!.scopeProfiles[0]!.profiles[0]!.samples;
  deepStrictEqual(
    samples.map((s) => stackNames(data, s.stackIndex)),
    [
      ["main.compute", "main.work", "main.main"],
      ["ksys_write", "__write_nocancel", "write", "main.work", "main.main"],
      ["memcpy", "no CFI"],
    ],
  );
  const d = data.dictionary!;
  const inlined = d
    .locationTable[d.stackTable[samples[0]!.stackIndex]!.locationIndices[0]!]!;
  deepStrictEqual(inlined.lines.map((l) => l.line), [30n, 20n]);
  strictEqual(inlined.address, 0x402010n);
  const m = d.mappingTable[inlined.mappingIndex]!;
  strictEqual(d.stringTable[m.filenameStrindex], "/usr/bin/app");
  strictEqual(m.memoryStart, 0x400000n);
  strictEqual(m.memoryLimit, 0x500000n);
  deepStrictEqual(attrs(data, m.attributeIndices), {
    "process.executable.build_id.gnu":
      "0123456789abcdef0123456789abcdef01234567",
    "process.executable.build_id.htlhash": "00112233445566778899aabbccddeeff",
  });
  const types = samples.map((s) =>
    d.stackTable[s.stackIndex]!.locationIndices.map((l) =>
      attrs(data, d.locationTable[l]!.attributeIndices)["profile.frame.type"]
    )
  );
  deepStrictEqual(types, [
    ["go", "go"],
    ["kernel", "native", "native", "go", "go"],
    ["native", "abort-marker"],
  ]);
});

Deno.test("buildProfilesData() sets profile, resource, scope and sample fields", () => {
  const w = smallWindow();
  const data = build(w);
  strictEqual(data.resourceProfiles.length, 1);
  const rp = data.resourceProfiles[0]!;
  const res = Object.fromEntries(
    rp.resource!.attributes.map((kv) => [kv.key, kv.value?.value.value]),
  );
  deepStrictEqual(res, {
    "host.name": "testhost",
    "host.arch": "amd64",
    "deployment.environment": "test",
    "process.pid": 4242n,
    "process.executable.name": "app",
    "process.executable.path": "/usr/bin/app",
    "process.command_line": "/usr/bin/app --serve",
    "container.id": "abcdef0123456789",
    "process.executable.build_id.gnu":
      "0123456789abcdef0123456789abcdef01234567",
    "service.name": "app",
  });
  const sp = rp.scopeProfiles[0]!;
  strictEqual(sp.scope!.name, SCOPE_NAME);
  ok(sp.scope!.version.length > 0);
  const p = sp.profiles[0]!;
  const s = data.dictionary!.stringTable;
  deepStrictEqual([
    s[p.sampleType!.typeStrindex],
    s[p.sampleType!.unitStrindex],
  ], ["samples", "count"]);
  deepStrictEqual([
    s[p.periodType!.typeStrindex],
    s[p.periodType!.unitStrindex],
  ], ["cpu", "nanoseconds"]);
  strictEqual(p.period, 52631579n);
  strictEqual(p.timeUnixNano, w.startUnixNano);
  strictEqual(p.durationNano, w.durationNano);
  strictEqual(p.profileId.length, 16);
  ok(p.profileId.some((b) => b !== 0));
  deepStrictEqual(p.samples.map((x) => x.timestampsUnixNano.length), [3, 2, 1]);
  for (const x of p.samples) {
    strictEqual(x.values.length, 0);
    for (const t of x.timestampsUnixNano) {
      ok(t >= p.timeUnixNano && t < p.timeUnixNano + p.durationNano);
    }
  }
  deepStrictEqual(attrs(data, p.samples[0]!.attributeIndices), {
    "thread.id": 4242n,
    "thread.name": "app",
    "cpu.logical_number": 0n,
    "go.goroutine.id": 1n,
    "pprof.label.handler": "/api",
  });
  deepStrictEqual(attrs(data, p.samples[1]!.attributeIndices), {
    "thread.id": 4243n,
    "thread.name": "app-worker",
    "cpu.logical_number": 1n,
  });
});

Deno.test("buildProfilesData() takes service.name from OTEL_SERVICE_NAME, then OTEL_RESOURCE_ATTRIBUTES", () => {
  const host = { name: "h", arch: "aarch64" };
  const service = (env: Record<string, string>) => {
    const data = buildProfilesData(smallWindow(), {
      defaults: resourceDefaults(env, host),
    });
    return data.resourceProfiles[0]!.resource!.attributes.find((kv) =>
      kv.key === "service.name"
    )!
      .value!.value.value;
  };
  strictEqual(service({}), "app");
  strictEqual(
    service({ OTEL_RESOURCE_ATTRIBUTES: "service.name=fromattrs" }),
    "fromattrs",
  );
  strictEqual(
    service({
      OTEL_RESOURCE_ATTRIBUTES: "service.name=fromattrs",
      OTEL_SERVICE_NAME: "svc",
    }),
    "svc",
  );
});

Deno.test("buildProfilesData() merges equal samples and clamps timestamps into the window", () => {
  const w = smallWindow();
  const p = w.processes[0]!;
  const g = p.samples[0]!;
  const end = w.startUnixNano + w.durationNano;
  const window: ProfileWindow = {
    ...w,
    processes: [{
      ...p,
      samples: [g, {
        ...g,
        count: 2,
        timestampsUnixNano: [w.startUnixNano - 5n, end + 5n],
      }],
    }],
  };
  const samples =
    build(window).resourceProfiles[0]!.scopeProfiles[0]!.profiles[0]!.samples;
  strictEqual(samples.length, 1);
  strictEqual(samples[0]!.timestampsUnixNano.length, 5);
  deepStrictEqual(samples[0]!.timestampsUnixNano.slice(3), [
    w.startUnixNano,
    end - 1n,
  ]);
});
