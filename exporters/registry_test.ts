import { strictEqual, throws } from "node:assert";
import {
  createExporter,
  exportersFromEnv,
  ExporterSpecError,
} from "./registry.ts";

Deno.test("createExporter() parses KIND:TARGET", async () => {
  for (
    const [spec, name] of [
      ["otlp-grpc:127.0.0.1:4317", "otlp-grpc:http://127.0.0.1:4317"],
      ["otlp-grpc:https://collector:4317", "otlp-grpc:https://collector:4317"],
      [
        "otlp-http:http://127.0.0.1:4318",
        "otlp-http:http://127.0.0.1:4318/v1development/profiles",
      ],
      [
        "otlp-http:http://h:4318/custom/path",
        "otlp-http:http://h:4318/custom/path",
      ],
      ["otlp-file:/tmp/x.pb", "otlp-file:/tmp/x.pb"],
      ["pprof:/tmp/x.pb.gz", "pprof:/tmp/x.pb.gz"],
    ]
  ) {
    const e = createExporter(spec!, {});
    strictEqual(e.name, name);
    await e.close();
  }
});

Deno.test("createExporter() rejects unknown kinds and empty targets", () => {
  throws(
    () => createExporter("nope:/x", {}),
    (e) =>
      e instanceof ExporterSpecError && /unknown kind "nope"/.test(e.message),
  );
  throws(
    () => createExporter("pprof:", {}),
    (e) => e instanceof ExporterSpecError && /missing PATH/.test(e.message),
  );
  throws(() => createExporter("pprof", {}), ExporterSpecError);
});

Deno.test("exportersFromEnv() selects OTLP by endpoint and protocol", async () => {
  strictEqual(exportersFromEnv({}).length, 0);
  const [grpc] = exportersFromEnv({
    OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4317",
  });
  strictEqual(grpc!.name, "otlp-grpc:http://c:4317");
  await grpc!.close();
  const [http] = exportersFromEnv({
    OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318/",
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
  });
  strictEqual(http!.name, "otlp-http:http://c:4318/v1development/profiles");
  const [specific] = exportersFromEnv({
    OTEL_EXPORTER_OTLP_ENDPOINT: "http://ignored:4318",
    OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT: "http://c:9999/p",
    OTEL_EXPORTER_OTLP_PROFILES_PROTOCOL: "http/protobuf",
  });
  strictEqual(specific!.name, "otlp-http:http://c:9999/p");
  throws(
    () =>
      exportersFromEnv({
        OTEL_EXPORTER_OTLP_ENDPOINT: "x",
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      }),
    RangeError,
  );
});
