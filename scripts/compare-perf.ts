/**
 * `deno task compare-perf [VERSION]`: profiles the cgo fixture
 * (main.main → goOuter → goMiddle → goCallC → c_outer → c_inner) with
 * `perf record --call-graph fp`, `perf record --call-graph dwarf` and
 * denoprof, and prints for each the share of c_inner samples whose stack is
 * the complete chain, root first:
 * `runtime.goexit;runtime.main;main.main;main.goOuter;main.goMiddle;
 * main.goCallC;main._Cfunc_c_outer;runtime.cgocall;runtime.asmcgocall;`
 * [the cgo C wrapper;] `c_outer;c_inner`.
 *
 * Needs root (or perf_event_paranoid ≤ 1), linux-perf and a Go toolchain
 * from scripts/go-toolchains.sh (default: the newest of the matrix).
 *
 * @module
 */
import {
  buildFixture,
  listToolchains,
} from "../tests/fixtures/go/toolchains.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const SECONDS = 3;
const CHAIN = "runtime.goexit;runtime.main;main.main;main.goOuter;" +
  "main.goMiddle;main.goCallC;main._Cfunc_c_outer;runtime.cgocall;" +
  "runtime.asmcgocall;";

/** Share of c_inner stacks (root first, user frames) that are complete. */
function score(stacks: Map<string, number>): { total: number; ok: number } {
  let total = 0, ok = 0;
  for (const [s, n] of stacks) {
    const f = s.split(";").filter((x) => !x.endsWith("_[k]") && x !== "");
    if (f[f.length - 1] !== "c_inner") continue;
    total += n;
    const j = f.join(";");
    const at = j.indexOf("runtime.goexit;");
    if (at < 0) continue;
    const rest = j.slice(at);
    if (!rest.startsWith(CHAIN)) continue;
    if (
      /^(_cgo_[0-9a-f]+_Cfunc_c_outer;)?c_outer;c_inner$/.test(
        rest.slice(CHAIN.length),
      )
    ) ok += n;
  }
  return { total, ok };
}

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed: ${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

/**
 * Folds `perf script -F ip,sym` output: one `ADDR SYMBOL` line per frame,
 * leaf first, a blank line between samples. Go's `.abi0` suffix is dropped so
 * names compare with pclntab names.
 */
function foldPerfScript(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const block of text.split(/\n\s*\n/)) {
    const frames = block.split("\n").map((l) => l.trim()).filter((l) =>
      l !== ""
    )
      .map((l) => {
        const m = l.match(/^[0-9a-f]+\s+(.+)$/);
        return (m ? m[1]! : l).replace(/\+0x[0-9a-f]+$/, "").replace(
          /\.abi0$/,
          "",
        );
      }).reverse();
    if (frames.length === 0) continue;
    const key = frames.join(";");
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}

async function withFixture<T>(
  bin: string,
  f: (pid: number) => Promise<T>,
): Promise<T> {
  const child = new Deno.Command(bin, {
    args: ["60"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await new Promise((r) => setTimeout(r, 200));
    return await f(child.pid);
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
}

async function perf(
  bin: string,
  mode: "fp" | "dwarf",
): Promise<Map<string, number>> {
  const data = await Deno.makeTempFile({ suffix: ".data" });
  try {
    await withFixture(bin, (pid) =>
      run("perf", [
        "record",
        "-q",
        "-F",
        "99",
        "--call-graph",
        mode,
        "-p",
        String(pid),
        "-o",
        data,
        "--",
        "sleep",
        String(SECONDS),
      ]));
    return foldPerfScript(
      await run("perf", ["script", "-i", data, "-F", "ip,sym"]),
    );
  } finally {
    await Deno.remove(data).catch(() => {});
  }
}

async function denoprof(bin: string): Promise<Map<string, number>> {
  const folded = await Deno.makeTempFile({ suffix: ".folded" });
  try {
    await withFixture(bin, (pid) =>
      run(Deno.execPath(), [
        "run",
        "-A",
        `${ROOT}agent/main.ts`,
        "--pid",
        String(pid),
        "--duration",
        String(SECONDS),
        "--frequency",
        "99",
        "--exporter",
        `folded:${folded}`,
      ]));
    const out = new Map<string, number>();
    for (const line of (await Deno.readTextFile(folded)).split("\n")) {
      const sp = line.lastIndexOf(" ");
      if (sp > 0) out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
    }
    return out;
  } finally {
    await Deno.remove(folded).catch(() => {});
  }
}

if (import.meta.main) {
  const tcs = listToolchains();
  const tc = Deno.args[0]
    ? tcs.find((t) => t.version === Deno.args[0])
    : tcs[tcs.length - 1];
  if (tc === undefined) {
    throw new Error("No Go toolchain: run scripts/go-toolchains.sh");
  }
  const bin = await buildFixture(tc, "cgo", "default");
  console.log(`cgo fixture, go${tc.version}, 99 Hz, ${SECONDS} s each\n`);
  console.log("| tool | c_inner samples | complete chain | share |");
  console.log("|---|---:|---:|---:|");
  for (
    const [name, f] of [
      ["perf --call-graph fp", () => perf(bin, "fp")],
      ["perf --call-graph dwarf", () => perf(bin, "dwarf")],
      ["denoprof", () => denoprof(bin)],
    ] as const
  ) {
    const s = score(await f());
    const pct = s.total ? ((100 * s.ok) / s.total).toFixed(1) : "–";
    console.log(`| ${name} | ${s.total} | ${s.ok} | ${pct}% |`);
  }
}
