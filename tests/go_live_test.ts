/**
 * Live Go matrix (issue 4): for every toolchain of the matrix and the
 * variants default / stripped / pie / static, the chain fixture is profiled
 * by the real agent subprocess at 99 Hz, and the folded and OTLP/JSON outputs
 * are checked:
 *
 * - ≥ 99% of the main goroutine's samples whose leaf is main.c show exactly
 *   `runtime.goexit;runtime.main;main.main;main.a;main.b;main.c` (main.b is
 *   inlined into main.a);
 * - ≥ 99% of the recursion goroutine's samples reach runtime.goexit;
 * - samples through runtime.morestack and runtime.systemstack continue past
 *   them in ≥ 95% of cases (per version), and the rest end in an explicit
 *   `[unwind: …]` frame that the agent's stats count;
 * - Go frames carry `profile.frame.type = go`, native frames (the vDSO) in
 *   the same process stay `native`.
 *
 * The four variants of one version run as four processes under one agent
 * (`--pid P1,P2,P3,P4`), each binary copied under its own name so its folded
 * lines (which start with the process name) are told apart.
 *
 * Needs root, the BPF object and the toolchains (scripts/go-toolchains.sh).
 * Without them the test is skipped with a message, except with `CI=true`,
 * where it fails instead.
 */
import { assert, assertGreaterOrEqual, assertLessOrEqual } from "./assert.ts";
import { runAgent } from "./_agent.ts";
import {
  buildFixture,
  GO_VARIANTS,
  goLiveProblem,
  type GoToolchain,
  type GoVariant,
  listToolchains,
} from "./fixtures/go/toolchains.ts";

const CI = Deno.env.get("CI") === "true";
const SECONDS = Number(Deno.env.get("DENOPROF_GO_LIVE_SECONDS") ?? "2");
const CHAIN = "runtime.goexit;runtime.main;main.main;main.a;main.b;main.c";
const SHORT: Record<GoVariant, string> = {
  default: "def",
  stripped: "strip",
  pie: "pie",
  static: "static",
};

/** Why the live matrix cannot run here, or undefined when it can. */

const why = goLiveProblem();
if (why !== undefined && !CI) {
  console.warn(`skipping the live Go matrix: ${why}`);
}

/** Folded stacks of one process, frames root-first without the process name. */
type Stacks = [frames: string[], count: number][];

function readFolded(text: string): Map<string, Stacks> {
  const out = new Map<string, Stacks>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const sp = line.lastIndexOf(" ");
    const frames = line.slice(0, sp).split(";");
    const name = frames.shift()!;
    let list = out.get(name);
    if (list === undefined) out.set(name, list = []);
    list.push([frames, Number(line.slice(sp + 1))]);
  }
  return out;
}

/** The user part of a stack: kernel frames (`_[k]`) at the leaf dropped. */
function userFrames(frames: string[]): string[] {
  let n = frames.length;
  while (n > 0 && frames[n - 1]!.endsWith("_[k]")) n--;
  return frames.slice(0, n);
}

/** Per-process outcome of the checks, for the report and the assertions. */
interface Outcome {
  name: string;
  samples: number;
  chainOk: number;
  chainAll: number;
  recurseOk: number;
  recurseAll: number;
  morestackPast: number;
  morestackAll: number;
  systemstackPast: number;
  systemstackAll: number;
  /** Switch-function stacks that did not continue past it (for diagnosis). */
  stopped: Map<string, number>;
  /**
   * Scheduler stacks rooted at morestack/mcall on g0 (the goroutine was
   * descheduled: newstack → gopreempt_m → schedule): complete, but no
   * longer the goroutine's stack, so outside the morestack ratio.
   */
  schedulerRoot: number;
  /** Samples through a switch function that neither continue nor end in a reason frame. */
  silent: number;
  badChain: Map<string, number>;
}

/** True when `frames` has a real frame rootward of the last `fn` frame. */
function continuesPast(frames: string[], fn: string): boolean {
  const i = frames.lastIndexOf(fn);
  return i > 0 && !frames[0]!.startsWith("[unwind:");
}

function check(name: string, stacks: Stacks): Outcome {
  const o: Outcome = {
    name,
    samples: 0,
    chainOk: 0,
    chainAll: 0,
    recurseOk: 0,
    recurseAll: 0,
    morestackPast: 0,
    morestackAll: 0,
    systemstackPast: 0,
    systemstackAll: 0,
    stopped: new Map(),
    schedulerRoot: 0,
    silent: 0,
    badChain: new Map(),
  };
  for (const [frames, count] of stacks) {
    o.samples += count;
    const user = userFrames(frames);
    const joined = user.join(";");
    if (user.includes("main.recurse")) {
      o.recurseAll += count;
      if (user[0] === "runtime.goexit" && user[1] === "main.main.func1") {
        o.recurseOk += count;
      }
    } else if (user[user.length - 1] === "main.c") {
      o.chainAll += count;
      if (joined === CHAIN) o.chainOk += count;
      else o.badChain.set(joined, (o.badChain.get(joined) ?? 0) + count);
    }
    if (user[0] === "runtime.morestack" || user[0] === "runtime.mcall") {
      o.schedulerRoot += count;
      continue;
    }
    for (const fn of ["runtime.morestack", "runtime.systemstack"]) {
      if (!user.includes(fn)) continue;
      const past = continuesPast(user, fn);
      const reason = user[0]!.startsWith("[unwind:");
      if (fn === "runtime.morestack") {
        o.morestackAll += count;
        if (past) o.morestackPast += count;
      } else {
        o.systemstackAll += count;
        if (past) o.systemstackPast += count;
      }
      if (!past && !reason) o.silent += count;
      if (!past) {
        const head = user.slice(0, 4).join(";");
        o.stopped.set(head, (o.stopped.get(head) ?? 0) + count);
      }
    }
  }
  return o;
}

/** Function names by `profile.frame.type` in an OTLP/JSON file. */
// deno-lint-ignore no-explicit-any
function frameTypes(data: any): Map<string, Set<string>> {
  const d = data.dictionary ?? {};
  const strings: string[] = d.stringTable ?? [];
  // deno-lint-ignore no-explicit-any
  const attrs: any[] = d.attributeTable ?? [];
  // deno-lint-ignore no-explicit-any
  const funcs: any[] = d.functionTable ?? [];
  const out = new Map<string, Set<string>>();
  for (const loc of d.locationTable ?? []) {
    let type = "";
    for (const i of loc.attributeIndices ?? []) {
      const a = attrs[i];
      const key = a?.key ?? strings[a?.keyStrindex ?? 0];
      if (key === "profile.frame.type") type = a.value?.stringValue ?? "";
    }
    for (const line of loc.lines ?? loc.line ?? []) {
      const fn = funcs[line.functionIndex ?? 0];
      const name = strings[fn?.nameStrindex ?? 0] ?? "";
      if (name === "") continue;
      let set = out.get(name);
      if (set === undefined) out.set(name, set = new Set());
      set.add(type);
    }
  }
  return out;
}

/** Profiles the four variants of one toolchain under one agent. */
async function profileVersion(tc: GoToolchain, dir: string) {
  const children: Deno.ChildProcess[] = [];
  const names: string[] = [];
  try {
    for (const variant of GO_VARIANTS) {
      const bin = await buildFixture(tc, "chain", variant);
      // The process name (comm, ≤ 15 bytes) tells the variants apart.
      const name = `go${tc.version.replace(".", "")}-${SHORT[variant]}`;
      const copy = `${dir}/${name}`;
      await Deno.copyFile(bin, copy);
      await Deno.chmod(copy, 0o755);
      names.push(name);
      children.push(
        new Deno.Command(copy, {
          args: ["3600"],
          stdout: "null",
          stderr: "null",
        }).spawn(),
      );
    }
    const folded = `${dir}/go${tc.version}.folded`;
    const otlp = `${dir}/go${tc.version}.json`;
    const r = await runAgent([
      "--pid",
      children.map((c) => c.pid).join(","),
      "--duration",
      String(SECONDS),
      "--frequency",
      "99",
      "--stack-bytes",
      "32768",
      "--quiet",
      "--exporter",
      `folded:${folded}`,
      "--exporter",
      `otlp-file:${otlp}`,
    ]);
    assert(r.code === 0, `agent failed for go${tc.version}: ${r.stderr}`);
    const stats = r.stats;
    return {
      names,
      folded: readFolded(await Deno.readTextFile(folded)),
      otlp: JSON.parse(await Deno.readTextFile(otlp)),
      unwindErrors: (stats?.unwindErrors ?? {}) as Record<string, number>,
    };
  } finally {
    for (const c of children) {
      try {
        c.kill("SIGKILL");
      } catch {
        // already gone
      }
      await c.status;
    }
  }
}

function pct(a: number, b: number): string {
  return b === 0 ? "-" : `${(100 * a / b).toFixed(1)}%`;
}

Deno.test({
  name:
    "live Go matrix: exact chains, recursion to goexit, morestack/systemstack crossed, frame types",
  ignore: why !== undefined && !CI,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    if (why !== undefined) {
      throw new Error(`Cannot run the live Go matrix under CI: ${why}`);
    }
    const dir = await Deno.makeTempDir({ prefix: "denoprof-go-live-" });
    try {
      for (const tc of listToolchains()) {
        await t.step(`go${tc.version}`, async () => {
          const run = await profileVersion(tc, dir);
          const outcomes = run.names.map((n) =>
            check(n, run.folded.get(n) ?? [])
          );
          const errors = Object.entries(run.unwindErrors)
            .map(([k, v]) => `${k}=${v}`).join(", ") || "none";
          for (const o of outcomes) {
            console.log(
              `${o.name}: ${o.samples} samples; main.c chain ${o.chainOk}/${o.chainAll} (${
                pct(o.chainOk, o.chainAll)
              }); recursion to goexit ${o.recurseOk}/${o.recurseAll}; morestack past ${o.morestackPast}/${o.morestackAll}; systemstack past ${o.systemstackPast}/${o.systemstackAll}; scheduler roots ${o.schedulerRoot}`,
            );
          }
          console.log(`go${tc.version} unwind errors: ${errors}`);
          for (const o of outcomes) {
            assertGreaterOrEqual(
              o.chainAll,
              1,
              `${o.name}: only ${o.chainAll} main.c samples on the main goroutine`,
            );
            assertGreaterOrEqual(
              o.chainOk / o.chainAll,
              0.99,
              `${o.name}: ${o.chainOk}/${o.chainAll} main.c samples show ${CHAIN}; others: ${
                JSON.stringify([...o.badChain])
              }`,
            );
            assertGreaterOrEqual(
              o.recurseAll,
              1,
              `${o.name}: only ${o.recurseAll} recursion samples`,
            );
            assertGreaterOrEqual(
              o.recurseOk / o.recurseAll,
              0.99,
              `${o.name}: ${o.recurseOk}/${o.recurseAll} recursion samples reach runtime.goexit`,
            );
            assert(
              o.silent === 0,
              `${o.name}: ${o.silent} morestack/systemstack samples stop without a reason frame`,
            );
          }
          // Switch functions are a few percent of the samples: judge them
          // over the four variants of the version.
          const sum = (f: (o: Outcome) => number) =>
            outcomes.reduce((s, o) => s + f(o), 0);
          // Per-process floors are 1 sample (a busy shared machine can
          // starve one process for 2 s); the version needs enough overall.
          assertGreaterOrEqual(
            sum((o) => o.chainAll),
            15,
            `go${tc.version}: main.c samples over the four variants`,
          );
          for (const o of outcomes) {
            for (const [head, n] of o.stopped) {
              console.log(`${o.name}: stopped ${n}× ${head}`);
            }
          }
          const mAll = sum((o) => o.morestackAll);
          const sAll = sum((o) => o.systemstackAll);
          assertGreaterOrEqual(mAll, 1, `go${tc.version}: no morestack sample`);
          // ≥ 95% continue past; the rest end in a reason frame (checked
          // above: none is silent). With a few dozen samples one reasoned
          // stop is more than 5%, so at least one is always tolerated.
          const stopped = (past: number, all: number) => all - past;
          const allowed = (all: number) => Math.max(1, Math.floor(0.05 * all));
          assertLessOrEqual(
            stopped(sum((o) => o.morestackPast), mAll),
            allowed(mAll),
            `go${tc.version}: morestack samples not continuing past it (of ${mAll})`,
          );
          assertLessOrEqual(
            stopped(sum((o) => o.systemstackPast), sAll),
            allowed(sAll),
            `go${tc.version}: systemstack samples not continuing past it (of ${sAll})`,
          );
          // Frame types through the OTLP builder: Go functions are `go`,
          // the vDSO (native code in the same process) stays `native`.
          const types = frameTypes(run.otlp);
          for (const fn of ["main.c", "main.main", "runtime.goexit"]) {
            const ty = [...types.get(fn) ?? []];
            assert(
              ty.length === 1 && ty[0] === "go",
              `go${tc.version}: ${fn} has frame types ${JSON.stringify(ty)}`,
            );
          }
          for (const [fn, ty] of types) {
            if (fn.startsWith("__vdso_")) {
              assert(
                [...ty].every((x) => x === "native"),
                `go${tc.version}: ${fn} has frame types ${
                  JSON.stringify([...ty])
                }`,
              );
            }
          }
        });
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
