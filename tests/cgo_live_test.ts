/**
 * Live cgo acceptance (issue 5): for every toolchain of the matrix, the real
 * agent (a subprocess) profiles the cgo fixtures at 99 Hz and the folded
 * output is checked:
 *
 * - `cgo` (main.main → goOuter → goMiddle → goCallC → c_outer → c_inner):
 *   ≥ 99% of the c_inner samples show exactly the whole Go chain, the cgo
 *   crossing and the C frames;
 * - `cgo_shapes callback`: Go → C → exported Go → C leaf, both crossings in
 *   order, ≥ 95%;
 * - `cgo_shapes thread`: a pthread made in C → exported Go → C leaf shows the
 *   thread start, the C caller, the Go frames and the C leaf; the same
 *   thread back in pure C shows no Go frame and no error;
 * - `cgo_shapes gocb`: Go → C → exported Go that burns CPU in Go itself
 *   (the sample is on the goroutine stack; the kernel copies the system
 *   stack from g0.sched.sp): ≥ 95% show the whole interleaved chain;
 * - `cgo_shapes threadgo` (Go ≥ 1.21, which has m.isextra): a pthread made
 *   in C → exported Go burning in Go shows the thread start and C caller;
 * - `cgo_shapes usleep` and `many`: fewer than 1% of their samples end in an
 *   inconsistent-g or other cgo crossing error (pure-Go stops such as the
 *   vDSO callers are issue 4's and not counted here).
 *
 * One agent run per version profiles the five processes together (the main
 * shape runs alone first so it gets enough samples on two cores).
 *
 * Needs root, the BPF object and the toolchains. Without them the test is
 * skipped with a message, except with `CI=true`, where it fails instead.
 */
import { assert, assertGreaterOrEqual } from "./assert.ts";
import { checkPrivileges } from "../bpf/privileges.ts";
import {
  buildFixture,
  type GoToolchain,
  requireToolchains,
} from "./fixtures/go/toolchains.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const CI = Deno.env.get("CI") === "true";
const SECONDS = Number(Deno.env.get("DENOPROF_CGO_LIVE_SECONDS") ?? "2");
/** The main shape, root first, up to the C side of the crossing. */
const GO_CHAIN = "runtime.goexit;runtime.main;main.main;main.goOuter;" +
  "main.goMiddle;main.goCallC;main._Cfunc_c_outer;runtime.cgocall;" +
  "runtime.asmcgocall;";
const CGO_WRAPPER = /^_cgo_[0-9a-f]+_Cfunc_c_outer$/;

function missing(): string | undefined {
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") {
    return "not Linux amd64";
  }
  return checkPrivileges();
}

const problem = missing();
if (problem !== undefined && CI) {
  Deno.test("cgo live: environment", () => {
    throw new Error(`cgo live tests cannot run (CI=true): ${problem}`);
  });
}
const toolchains = problem === undefined || CI ? requireToolchains() : [];
if (problem !== undefined && !CI) {
  console.warn(`skipping cgo live tests: ${problem}`);
}

/** Folded lines of one process name: stack (without the name) → count. */
function parseFolded(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const sp = line.lastIndexOf(" ");
    if (sp < 0) continue;
    const stack = line.slice(0, sp);
    if (!stack.startsWith(`${name};`)) continue;
    const rest = stack.slice(name.length + 1);
    out.set(rest, (out.get(rest) ?? 0) + Number(line.slice(sp + 1)));
  }
  return out;
}

/** Frames of a folded stack without its kernel tail. */
function userFrames(stack: string): string[] {
  return stack.split(";").filter((f) => !f.endsWith("_[k]"));
}

/** Copies a binary under a new name so its folded lines carry that name. */
async function named(path: string, name: string): Promise<string> {
  const dir = `${path}.named`;
  await Deno.mkdir(dir, { recursive: true });
  const out = `${dir}/${name}`;
  try {
    await Deno.stat(out);
  } catch {
    await Deno.copyFile(path, `${out}.tmp${Deno.pid}`);
    await Deno.chmod(`${out}.tmp${Deno.pid}`, 0o755);
    await Deno.rename(`${out}.tmp${Deno.pid}`, out);
  }
  return out;
}

/** Runs the programs, profiles them with the agent, returns the folded text. */
async function profile(
  programs: string[][],
  seconds: number,
): Promise<{ folded: string; stats: string }> {
  const children = programs.map(([cmd, ...args]) =>
    new Deno.Command(cmd!, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn()
  );
  const folded = await Deno.makeTempFile({ suffix: ".folded" });
  try {
    await new Promise((r) => setTimeout(r, 200));
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `${ROOT}agent/main.ts`,
        "--pid",
        children.map((c) => c.pid).join(","),
        "--duration",
        String(seconds),
        "--frequency",
        "99",
        "--exporter",
        `folded:${folded}`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert(
      out.success,
      `agent failed: ${new TextDecoder().decode(out.stderr)}${stdout}`,
    );
    const stats = stdout.split("\n").find((l) =>
      l.startsWith("denoprof-stats ")
    ) ?? "";
    return { folded: await Deno.readTextFile(folded), stats };
  } finally {
    for (const c of children) {
      try {
        c.kill("SIGKILL");
      } catch {
        // already gone
      }
      await c.status;
    }
    await Deno.remove(folded).catch(() => {});
  }
}

/** Share of samples with leaf `leaf` whose user frames satisfy `ok`. */
function share(
  stacks: Map<string, number>,
  leaf: string,
  ok: (frames: string[]) => boolean,
): { total: number; good: number; bad: string[] } {
  let total = 0, good = 0;
  const bad: string[] = [];
  for (const [stack, n] of stacks) {
    const f = userFrames(stack);
    if (f[f.length - 1] !== leaf) continue;
    total += n;
    if (ok(f)) good += n;
    else bad.push(`${n} ${f.join(";")}`);
  }
  return { total, good, bad };
}

function mainShapeOk(f: string[]): boolean {
  const s = f.join(";");
  if (!s.startsWith(GO_CHAIN)) return false;
  const c = s.slice(GO_CHAIN.length).split(";");
  return (c.length === 3 && CGO_WRAPPER.test(c[0]!) && c[1] === "c_outer" &&
    c[2] === "c_inner") ||
    (c.length === 2 && c[0] === "c_outer" && c[1] === "c_inner");
}

/** The callback shape: exact frames, with the cgo wrappers matched by pattern. */
const CALLBACK = [
  "runtime.goexit",
  "runtime.main",
  "main.main",
  "main.until",
  "main.runCallback",
  "main._Cfunc_c_cb_outer",
  "runtime.cgocall",
  "runtime.asmcgocall",
  /^_cgo_[0-9a-f]+_Cfunc_c_cb_outer$/,
  "c_cb_outer",
  "goExported",
  "crosscall2",
  "runtime.cgocallback",
  "runtime.cgocallbackg",
  /^runtime\.cgocallbackg$|^<autogenerated>$/, // ABI wrapper frame
  "runtime.cgocallbackg1",
  /^(main\.)?_cgoexp_[0-9a-f]+_goExported$/,
  "main.goExported",
  "main.goLeafCaller",
  "main._Cfunc_c_cb_leaf",
  "runtime.cgocall",
  "runtime.asmcgocall",
  /^_cgo_[0-9a-f]+_Cfunc_c_cb_leaf$/,
  "c_cb_leaf",
  "burn",
];

/** The Go-burning callback shape: the sample is in main.goBurn. */
const GO_CALLBACK = [
  "runtime.goexit",
  "runtime.main",
  "main.main",
  "main.until",
  "main.runGoCallback",
  "main._Cfunc_c_gocb_outer",
  "runtime.cgocall",
  "runtime.asmcgocall",
  /^_cgo_[0-9a-f]+_Cfunc_c_gocb_outer$/,
  "c_gocb_outer",
  "goBurnExported",
  "crosscall2",
  "runtime.cgocallback",
  "runtime.cgocallbackg",
  /^runtime\.cgocallbackg$|^<autogenerated>$/,
  "runtime.cgocallbackg1",
  /^(main\.)?_cgoexp_[0-9a-f]+_goBurnExported$/,
  "main.goBurnExported",
  "main.goBurn",
];

/** The Go-burning C-thread shape after the thread start frames. */
const THREAD_GO = [
  "c_go_thread_main",
  "goBurnFromThread",
  "crosscall2",
  "runtime.cgocallback",
  "runtime.cgocallbackg",
  /^runtime\.cgocallbackg$|^<autogenerated>$/,
  "runtime.cgocallbackg1",
  /^(main\.)?_cgoexp_[0-9a-f]+_goBurnFromThread$/,
  "main.goBurnFromThread",
  "main.goBurn",
];

/** The C-thread shape after the thread start frames. */
const THREAD = [
  "c_thread_main",
  "goFromThread",
  "crosscall2",
  "runtime.cgocallback",
  "runtime.cgocallbackg",
  /^runtime\.cgocallbackg$|^<autogenerated>$/,
  "runtime.cgocallbackg1",
  /^(main\.)?_cgoexp_[0-9a-f]+_goFromThread$/,
  "main.goFromThread",
  "main.goThreadLeafCaller",
  "main._Cfunc_c_thread_leaf",
  "runtime.cgocall",
  "runtime.asmcgocall",
  /^_cgo_[0-9a-f]+_Cfunc_c_thread_leaf$/,
  "c_thread_leaf",
  "burn",
];

function matches(f: string[], want: (string | RegExp)[]): boolean {
  // The ABI wrapper frame of cgocallbackg may be elided by symbolization.
  let i = 0;
  for (const w of want) {
    const got = f[i];
    const ok = got !== undefined &&
      (typeof w === "string" ? got === w : w.test(got));
    if (ok) i++;
    else if (!(w instanceof RegExp && w.source.includes("autogenerated"))) {
      return false;
    }
  }
  return i === f.length;
}

function report(what: string, r: ReturnType<typeof share>): string {
  return `${what}: ${r.good}/${r.total} complete; other stacks:\n${
    r.bad.slice(0, 8).join("\n")
  }`;
}

for (const tc of toolchains) {
  Deno.test({
    name:
      `cgo live go${tc.version}: main shape complete in ≥ 99% of c_inner samples`,
    ignore: problem !== undefined && !CI,
    async fn() {
      const bin = await named(await buildFixture(tc, "cgo", "default"), "cgo");
      const { folded, stats } = await profile([[bin, "60"]], SECONDS);
      const r = share(parseFolded(folded, "cgo"), "c_inner", mainShapeOk);
      console.log(`go${tc.version} main shape: ${r.good}/${r.total}`);
      // A floor that keeps the ratio meaningful on a loaded 2-core machine,
      // where the workload may get a third of a CPU while tests run in parallel.
      assertGreaterOrEqual(r.total, 15, `too few c_inner samples\n${stats}`);
      assertGreaterOrEqual(r.good / r.total, 0.99, report("main", r));
    },
  });
  Deno.test({
    name:
      `cgo live go${tc.version}: callback, C thread, usleep, many goroutines`,
    ignore: problem !== undefined && !CI,
    fn: () => shapes(tc),
  });
}

async function shapes(tc: GoToolchain): Promise<void> {
  const built = await buildFixture(tc, "cgo_shapes", "default");
  const names = ["callback", "thread", "usleep", "many", "gocb", "threadgo"];
  const bins = await Promise.all(names.map((n) => named(built, `cgo_${n}`)));
  const { folded, stats } = await profile(
    bins.map((b, i) => [b, names[i]!, "60"]),
    SECONDS + 1,
  );
  const cb = share(
    parseFolded(folded, "cgo_callback"),
    "burn",
    (f) => matches(f, CALLBACK),
  );
  assertGreaterOrEqual(cb.total, 10, `too few callback samples\n${stats}`);
  assertGreaterOrEqual(cb.good / cb.total, 0.95, report("callback", cb));

  const thread = parseFolded(folded, "cgo_thread");
  const tl = share(thread, "burn", (f) => {
    if (f.includes("c_thread_pure")) {
      // Back in pure C after a callback: no Go frame, no error.
      return f.every((x) => !x.startsWith("runtime.") && !x.startsWith("["));
    }
    const start = f.indexOf("start_thread");
    return start >= 0 && matches(f.slice(start + 1), THREAD);
  });
  assertGreaterOrEqual(tl.total, 10, `too few thread samples\n${stats}`);
  assertGreaterOrEqual(tl.good / tl.total, 0.95, report("thread", tl));
  const leafs = share(thread, "burn", (f) => f.includes("c_thread_leaf"));
  assert(leafs.good > 0, "no C-thread callback sample");

  // Sampled in Go code inside a callback: the system stack copy.
  const gocb = share(
    parseFolded(folded, "cgo_gocb"),
    "main.goBurn",
    (f) => matches(f, GO_CALLBACK),
  );
  console.log(`go${tc.version} gocb: ${gocb.good}/${gocb.total}`);
  assertGreaterOrEqual(gocb.total, 10, `too few gocb samples\n${stats}`);
  assertGreaterOrEqual(gocb.good / gocb.total, 0.95, report("gocb", gocb));
  const tg = share(parseFolded(folded, "cgo_threadgo"), "main.goBurn", (f) => {
    const start = f.indexOf("start_thread");
    return start >= 0 && matches(f.slice(start + 1), THREAD_GO);
  });
  console.log(`go${tc.version} threadgo: ${tg.good}/${tg.total}`);
  // Go 1.19 has no m.isextra: a C-made thread in Go code is not detected
  // in the kernel and its stack still ends at cgocallback (docs/cgo.md).
  if (tc.version !== "1.19") {
    assertGreaterOrEqual(tg.total, 10, `too few threadgo samples\n${stats}`);
    assertGreaterOrEqual(tg.good / tg.total, 0.95, report("threadgo", tg));
  }

  for (const n of ["cgo_usleep", "cgo_many"]) {
    const st = parseFolded(folded, n);
    let total = 0, inconsistent = 0, cgoErrors = 0;
    for (const [s, c] of st) {
      total += c;
      if (s.includes("inconsistent")) inconsistent += c;
      // Crossing errors only: pure-Go stops (vDSO, morestack) are issue 4's.
      if (
        /\[unwind: go: (asmcgocall|cgocallback|goroutine stack not copied)/
          .test(s)
      ) {
        cgoErrors += c;
      }
    }
    assertGreaterOrEqual(total, 5, `too few ${n} samples\n${stats}`);
    assert(
      inconsistent / total < 0.01,
      `${n}: ${inconsistent}/${total} inconsistent-g errors`,
    );
    assert(
      cgoErrors / total < 0.01,
      `${n}: ${cgoErrors}/${total} cgo crossing errors:\n${
        [...st].filter(([s]) => s.includes("[unwind:")).map(([s, c]) =>
          `${c} ${s}`
        ).slice(0, 8).join("\n")
      }`,
    );
  }
}
