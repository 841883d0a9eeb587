/**
 * The container pieces under deploy/, without a container engine: the
 * entrypoint script runs as a plain process (`--help`, and a dry run that
 * shows how DENOPROF_* variables become agent flags), and the Collector
 * sidecar config of the Kubernetes manifest passes `otelcol validate` with
 * the profiles feature gate (needs `make collector`; fails instead of
 * skipping when CI=true).
 */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import {
  collectorBinary,
  ignoreWithout,
  requireTool,
} from "./collector/collector.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const ENTRYPOINT = `${ROOT}deploy/entrypoint.sh`;

async function entrypoint(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(ENTRYPOINT, {
    args,
    env: { DENOPROF_APP: ROOT, DENO: Deno.execPath(), ...env },
    clearEnv: true,
    stdin: "null",
  }).output();
  const d = new TextDecoder();
  return {
    code: out.code,
    stdout: d.decode(out.stdout),
    stderr: d.decode(out.stderr),
  };
}

Deno.test("deploy/entrypoint.sh --help runs as a process: its env docs, then the agent's usage", async () => {
  const r = await entrypoint(["--help"]);
  assertEquals(r.code, 0, r.stderr);
  assertStringIncludes(r.stdout, "DENOPROF_EXPORTERS");
  assertStringIncludes(r.stdout, "Usage: deno task agent");
  assertStringIncludes(r.stdout, "--exporter KIND:TARGET");
});

Deno.test("deploy/entrypoint.sh maps DENOPROF_* to agent flags, sidecar by default", async () => {
  const dry = { DENOPROF_DRY_RUN: "1" };
  let r = await entrypoint(["--duration", "3"], dry);
  assertEquals(r.code, 0, r.stderr);
  assert(
    r.stdout.trim().endsWith(
      `agent/main.ts --exporter otlp-grpc:127.0.0.1:4317 --duration 3`,
    ),
    r.stdout,
  );
  r = await entrypoint([], {
    ...dry,
    DENOPROF_PIDS: "1,2",
    DENOPROF_FREQUENCY: "49",
    DENOPROF_INTERVAL: "10",
    DENOPROF_EXPORTERS: "folded:/out/a.folded otlp-http:http://c:4318",
  });
  assertEquals(r.code, 0, r.stderr);
  assert(
    r.stdout.trim().endsWith(
      "agent/main.ts --pid 1\\,2 --frequency 49 --interval 10 " +
        "--exporter folded:/out/a.folded --exporter otlp-http:http://c:4318",
    ),
    r.stdout,
  );
  // An OTLP endpoint from the environment is the agent's to use.
  r = await entrypoint([], {
    ...dry,
    OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4317",
  });
  assert(!r.stdout.includes("--exporter"), r.stdout);
});

/** The `config.yaml: |` block of the manifest's ConfigMap, dedented. */
function sidecarConfig(manifest: string): string {
  const lines = manifest.split("\n");
  const start = lines.findIndex((l) => /^\s+config\.yaml: \|$/.test(l));
  assert(start >= 0, "no config.yaml in the manifest");
  const body: string[] = [];
  let indent: number | undefined;
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === "") {
      body.push("");
      continue;
    }
    const n = line.length - line.trimStart().length;
    indent ??= n;
    if (n < indent) break;
    body.push(line.slice(indent));
  }
  return body.join("\n");
}

Deno.test({
  name:
    "deploy/kubernetes/daemonset.yaml: the Collector sidecar config validates with profiles on",
  ignore: ignoreWithout(collectorBinary()),
  async fn() {
    const bin = requireTool(collectorBinary());
    const config = sidecarConfig(
      await Deno.readTextFile(`${ROOT}deploy/kubernetes/daemonset.yaml`),
    );
    assertStringIncludes(config, "profiles:");
    const file = await Deno.makeTempFile({ suffix: ".yaml" });
    try {
      await Deno.writeTextFile(file, config);
      const out = await new Deno.Command(bin, {
        args: [
          "validate",
          `--config=file:${file}`,
          "--feature-gates=service.profilesSupport",
        ],
      }).output();
      const d = new TextDecoder();
      assertEquals(
        out.code,
        0,
        `otelcol validate: ${d.decode(out.stdout)}${d.decode(out.stderr)}`,
      );
    } finally {
      await Deno.remove(file);
    }
  },
});
