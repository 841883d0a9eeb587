/**
 * Encode cost of one exported profile: a window of 10,000 samples over 500
 * distinct stacks (4 threads × 2 CPUs), built into ProfilesData and
 * serialized; sizes raw and gzipped are printed once.
 *
 * @module
 */
import { toBinary } from "@bufbuild/protobuf";
import { ProfilesDataSchema } from "../../gen/opentelemetry/proto/profiles/v1development/profiles_pb.ts";
import { largeWindow } from "../../tests/otlp_fixtures.ts";
import { gzipBytes } from "../_gzip.ts";
import { encodePprof } from "../pprof.ts";
import { buildProfilesData } from "./build.ts";
import { resourceDefaults } from "./resource.ts";

const window = largeWindow(10_000, 500);
const defaults = resourceDefaults({}, { name: "bench", arch: "x86_64" });
const otlp = toBinary(
  ProfilesDataSchema,
  buildProfilesData(window, { defaults }),
);
const pprof = encodePprof(window);
console.log(
  `10,000 samples / 500 stacks: OTLP ${otlp.length} B raw, ${
    (await gzipBytes(otlp)).length
  } B gzip; pprof ${pprof.length} B raw, ${
    (await gzipBytes(pprof)).length
  } B gzip`,
);

Deno.bench({
  name: "OTLP build + encode (10k samples, 500 stacks)",
  group: "encode/profile",
  baseline: true,
  fn() {
    toBinary(ProfilesDataSchema, buildProfilesData(window, { defaults }));
  },
});

Deno.bench({
  name: "OTLP build + encode + gzip",
  group: "encode/profile",
  async fn() {
    await gzipBytes(
      toBinary(ProfilesDataSchema, buildProfilesData(window, { defaults })),
    );
  },
});

Deno.bench({
  name: "pprof encode (10k samples, 500 stacks)",
  group: "encode/profile",
  fn() {
    encodePprof(window);
  },
});
