/**
 * `go tool pprof -top` and `-traces` on the pprof exporter's output agree with
 * the folded exporter's output for the same windows. Needs Go (`go` on PATH or
 * /usr/local/go/bin/go); fails instead of skipping when CI=true.
 */
import { deepStrictEqual } from "node:assert";
import { createExporter } from "../exporters/registry.ts";
import {
  largeWindow,
  SMALL_WINDOW_FOLDED,
  smallWindow,
} from "./otlp_fixtures.ts";

function goBinary(): string | undefined {
  for (
    const dir of [
      ...(Deno.env.get("PATH") ?? "").split(":"),
      "/usr/local/go/bin",
    ]
  ) {
    try {
      if (Deno.statSync(`${dir}/go`).isFile) return `${dir}/go`;
    } catch { /* next */ }
  }
  return undefined;
}

const go = goBinary();

async function pprof(args: string[]): Promise<string> {
  if (!go) throw new Error("go is missing: go tool pprof needs a Go toolchain");
  const out = await new Deno.Command(go, { args: ["tool", "pprof", ...args] })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(
      `go tool pprof ${args.join(" ")} failed: ${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
  return text;
}

/** Parses `-traces -tagroot=process` into folded form (root first). */
function parseTraces(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const block of text.split(/^-+\+-+$/m).slice(1)) {
    let count = 0;
    const frames: string[] = [];
    for (const line of block.split("\n")) {
      const first = /^\s*(\d+)\s{3}(\S.*)$/.exec(line);
      if (first) {
        count = Number(first[1]);
        frames.push(first[2]!);
      } else if (count > 0 && /^\s{13}\S/.test(line)) {
        frames.push(line.trim());
      }
    }
    if (count === 0) continue;
    const key = frames.map((f) => f.replace(/ \(inline\)$/, "")).reverse().join(
      ";",
    );
    out.set(key, (out.get(key) ?? 0) + count);
  }
  return out;
}

/** Parses `-top` into function → flat count (nonzero only). */
function parseTop(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^\s*(\d+)\s+[\d.]+%\s+[\d.]+%\s+\d+\s+[\d.]+%\s+(.*)$/.exec(
      line,
    );
    if (m && Number(m[1]) > 0) {
      out.set(m[2]!.replace(/ \(inline\)$/, ""), Number(m[1]));
    }
  }
  return out;
}

/** The folded file with kernel suffixes removed (pprof has plain names). */
async function readFolded(path: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await Deno.readTextFile(path)).split("\n")) {
    if (!line) continue;
    const sp = line.lastIndexOf(" ");
    const key = line.slice(0, sp).replaceAll("_[k]", "");
    out.set(key, (out.get(key) ?? 0) + Number(line.slice(sp + 1)));
  }
  return out;
}

function leafCounts(folded: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [stack, n] of folded) {
    const leaf = stack.slice(stack.lastIndexOf(";") + 1);
    out.set(leaf, (out.get(leaf) ?? 0) + n);
  }
  return out;
}

const sorted = (m: Map<string, number>) =>
  [...m].sort((a, b) => a[0] < b[0] ? -1 : 1);

Deno.test({
  name:
    "go tool pprof -top and -traces on pprof output agree with the folded output",
  ignore: go === undefined && Deno.env.get("CI") !== "true",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "denoprof-pprof-" });
    try {
      for (
        const [name, window] of [["small", smallWindow()], [
          "large",
          largeWindow(2_000, 100),
        ]] as const
      ) {
        const pprofOut = createExporter(`pprof:${dir}/${name}.pb.gz`, {});
        const foldedOut = createExporter(`folded:${dir}/${name}.folded`, {});
        for (const e of [pprofOut, foldedOut]) {
          await e.export(window);
          await e.close();
        }
        const folded = await readFolded(`${dir}/${name}.folded`);
        if (name === "small") {
          const want = new Map(
            [...SMALL_WINDOW_FOLDED].map((
              [k, v],
            ) => [k.replaceAll("_[k]", ""), v]),
          );
          deepStrictEqual(sorted(folded), sorted(want));
        }
        const file = `${dir}/${name}.pb.gz`;
        const traces = parseTraces(
          await pprof([
            "-traces",
            "-tagroot=process",
            "-sample_index=samples",
            file,
          ]),
        );
        deepStrictEqual(
          sorted(traces),
          sorted(folded),
          `${name}: -traces differs from folded`,
        );
        const top = parseTop(
          await pprof([
            "-top",
            "-nodecount=100000",
            "-nodefraction=0",
            "-sample_index=samples",
            file,
          ]),
        );
        deepStrictEqual(
          sorted(top),
          sorted(leafCounts(folded)),
          `${name}: -top differs from folded`,
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
