/**
 * Sends synthetic windows to the real Collector over gRPC, HTTP (protobuf)
 * and HTTP (OTLP/JSON from the otlp-file exporter's encoding), and checks what
 * its file exporter wrote. Needs `make collector`; fails instead of skipping
 * when CI=true.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert";
import type { AnyValue } from "../gen/opentelemetry/proto/common/v1/common_pb.ts";
import type { ProfilesData } from "../gen/opentelemetry/proto/profiles/v1development/profiles_pb.ts";
import { buildProfilesData } from "../exporters/otlp/build.ts";
import { toOtlpJson } from "../exporters/otlp/file.ts";
import { resourceDefaults } from "../exporters/otlp/resource.ts";
import { createExporter } from "../exporters/registry.ts";
import {
  collectorBinary,
  ignoreWithout,
  startCollector,
} from "./collector/collector.ts";
import { assertConformant } from "./otlp_conformance.ts";
import { smallWindow } from "./otlp_fixtures.ts";

const ignore = ignoreWithout(collectorBinary());
const ENV = {
  OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=e2e",
  OTEL_EXPORTER_OTLP_HEADERS: "x-denoprof-test=1",
};

interface Seen {
  resource: Record<string, unknown>;
  scope: string;
  stacks: {
    names: string[];
    types: unknown[];
    attrs: Record<string, unknown>;
    count: number;
  }[];
}

/** Resolves every index of the Collector's output into names and values. */
function decode(data: ProfilesData): Seen[] {
  const d = data.dictionary!;
  const s = d.stringTable;
  // The Collector (pdata) re-encodes strings as string-table indices
  // (key_strindex, string_value_strindex), even in resource attributes.
  const value = (v: AnyValue | undefined) =>
    v?.value.case === "stringValueStrindex" ? s[v.value.value] : v?.value.value;
  const attrs = (ix: number[]) =>
    Object.fromEntries(ix.map((i) => {
      const kv = d.attributeTable[i]!;
      return [s[kv.keyStrindex]!, value(kv.value)];
    }));
  const out: Seen[] = [];
  for (const rp of data.resourceProfiles) {
    const resource = Object.fromEntries(
      rp.resource!.attributes.map((
        kv,
      ) => [kv.key || s[kv.keyStrindex], value(kv.value)]),
    );
    for (const sp of rp.scopeProfiles) {
      for (const p of sp.profiles) {
        strictEqual(s[p.sampleType!.typeStrindex], "samples");
        strictEqual(s[p.periodType!.typeStrindex], "cpu");
        strictEqual(p.period, 52631579n);
        out.push({
          resource,
          scope: `${sp.scope!.name}@${sp.scope!.version}`,
          stacks: p.samples.map((x) => {
            const locs = d.stackTable[x.stackIndex]!.locationIndices.map((i) =>
              d.locationTable[i]!
            );
            return {
              names: locs.flatMap((l) =>
                l.lines.map((line) =>
                  s[d.functionTable[line.functionIndex]!.nameStrindex]!
                )
              ),
              types: locs.map((l) =>
                attrs(l.attributeIndices)["profile.frame.type"]
              ),
              attrs: attrs(x.attributeIndices),
              count: x.timestampsUnixNano.length,
            };
          }),
        });
      }
    }
  }
  return out;
}

function checkSmallWindow(data: ProfilesData[]) {
  strictEqual(data.length, 1);
  // What the Collector re-encoded still follows every rule.
  assertConformant(data[0]!, "Collector file exporter output");
  const [seen] = decode(data[0]!);
  strictEqual(decode(data[0]!).length, 1);
  ok(seen!.scope.startsWith("denoprof@"));
  const r = seen!.resource;
  strictEqual(r["process.pid"], 4242n);
  strictEqual(r["process.executable.name"], "app");
  strictEqual(r["process.executable.path"], "/usr/bin/app");
  strictEqual(r["process.command_line"], "/usr/bin/app --serve");
  strictEqual(r["container.id"], "abcdef0123456789");
  strictEqual(r["service.name"], "app");
  strictEqual(r["deployment.environment"], "e2e");
  strictEqual(r["host.arch"], Deno.build.arch === "x86_64" ? "amd64" : "arm64");
  ok(typeof r["host.name"] === "string");
  deepStrictEqual(seen!.stacks.map((x) => [x.names, x.count]), [
    [["main.compute", "main.work", "main.main"], 3],
    [["ksys_write", "__write_nocancel", "write", "main.work", "main.main"], 2],
    [["memcpy", "no CFI"], 1],
  ]);
  deepStrictEqual(seen!.stacks[2]!.types, ["native", "abort-marker"]);
  deepStrictEqual(seen!.stacks[0]!.attrs, {
    "thread.id": 4242n,
    "thread.name": "app",
    "cpu.logical_number": 0n,
    "go.goroutine.id": 1n,
    "pprof.label.handler": "/api",
  });
}

function checkLogs(logs: string) {
  ok(
    !/unmarshal|decode|invalid|\terror\t/i.test(logs),
    `Collector logged an error:\n${logs}`,
  );
}

for (const kind of ["otlp-grpc", "otlp-http"] as const) {
  Deno.test({
    name:
      `${kind} exporter: the real Collector receives stacks, counts and attributes intact`,
    ignore,
    async fn() {
      await using collector = await startCollector();
      const target = kind === "otlp-grpc"
        ? collector.grpcEndpoint
        : collector.httpEndpoint;
      const exporter = createExporter(`${kind}:${target}`, ENV);
      try {
        await exporter.export(smallWindow(BigInt(Date.now()) * 1_000_000n));
      } finally {
        await exporter.close();
      }
      checkSmallWindow(await collector.waitForProfiles(1));
      await collector.stop();
      checkLogs(collector.logs());
    },
  });
}

Deno.test({
  name: "otlp-file JSON encoding is OTLP/JSON the Collector accepts",
  ignore,
  async fn() {
    await using collector = await startCollector();
    const data = buildProfilesData(smallWindow(), {
      defaults: resourceDefaults(ENV),
    });
    const res = await fetch(
      `${collector.httpEndpoint}/v1development/profiles`,
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(toOtlpJson(data)),
      },
    );
    const body = await res.text();
    strictEqual(res.status, 200, body);
    const out = await collector.waitForProfiles(1);
    checkSmallWindow(out);
    // The id survived as the same 16 bytes (hex in JSON, not base64).
    deepStrictEqual(
      out[0]!.resourceProfiles[0]!.scopeProfiles[0]!.profiles[0]!.profileId,
      data.resourceProfiles[0]!.scopeProfiles[0]!.profiles[0]!.profileId,
    );
    await collector.stop();
    checkLogs(collector.logs());
  },
});
