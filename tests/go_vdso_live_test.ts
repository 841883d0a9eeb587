/**
 * Live vDSO test: for every toolchain of the matrix, a goroutine reading the
 * clock in a tight loop (tests/fixtures/go/vdso) is profiled by the agent.
 * Go runs the vDSO on the g0 stack without switching g; the kernel side
 * delivers m.vdsoSP/m.vdsoPC and copies the goroutine stack from there, so
 * ≥ 95% of the samples whose leaf is in the vDSO must show the whole chain
 * `runtime.goexit;main.clockLoop;time.Now;time.now (or runtime.nanotime1 /
 * runtime.walltime);<vDSO frames>`.
 *
 * All versions run as processes of one agent (named `vdso<minor>`). Needs
 * root, the BPF object and the toolchains; skipped with a message without
 * them, except with `CI=true`, where it fails instead.
 */
import { assert, assertGreaterOrEqual } from "./assert.ts";
import { runAgent } from "./_agent.ts";
import {
  buildFixture,
  GO_MATRIX,
  goLiveProblem,
  listToolchains,
} from "./fixtures/go/toolchains.ts";

const CI = Deno.env.get("CI") === "true";
const SECONDS = Number(Deno.env.get("DENOPROF_GO_LIVE_SECONDS") ?? "4");
const VDSO_CALLERS = new Set([
  "time.now",
  "runtime.nanotime1",
  "runtime.walltime",
  "runtime.walltime1",
]);

const why = goLiveProblem();
if (why !== undefined && !CI) {
  console.warn(`skipping the live vDSO test: ${why}`);
}

/** True for a frame in the vDSO image (its exported or local symbols). */
function isVdsoFrame(f: string): boolean {
  return f.startsWith("__vdso_") || f.startsWith("[vdso]") ||
    f.includes("vdso");
}

interface Outcome {
  samples: number;
  vdsoAll: number;
  vdsoOk: number;
  bad: Map<string, number>;
  good: Map<string, number>;
}

/** Checks the folded stacks (root first) of one process. */
function check(stacks: [string[], number][]): Outcome {
  const o: Outcome = {
    samples: 0,
    vdsoAll: 0,
    vdsoOk: 0,
    bad: new Map(),
    good: new Map(),
  };
  for (const [frames, count] of stacks) {
    o.samples += count;
    let n = frames.length;
    while (n > 0 && frames[n - 1]!.endsWith("_[k]")) n--;
    const user = frames.slice(0, n);
    if (user.length === 0 || !isVdsoFrame(user[user.length - 1]!)) continue;
    o.vdsoAll += count;
    // The Go caller of the vDSO, then its Go callers up to goexit.
    let i = user.length - 1;
    while (i >= 0 && isVdsoFrame(user[i]!)) i--;
    const goPart = user.slice(0, i + 1);
    const caller = goPart[goPart.length - 1] ?? "";
    const ok = goPart[0] === "runtime.goexit" &&
      goPart[1] === "main.clockLoop" && VDSO_CALLERS.has(caller) &&
      goPart.includes("time.Now") &&
      !goPart.some((f) => f.startsWith("[unwind:"));
    if (ok) {
      o.vdsoOk += count;
      const k = user.join(";");
      o.good.set(k, (o.good.get(k) ?? 0) + count);
    } else {
      const k = user.join(";");
      o.bad.set(k, (o.bad.get(k) ?? 0) + count);
    }
  }
  return o;
}

Deno.test({
  name:
    "live Go vDSO: clock reads on g0 show the goroutine chain (all toolchains)",
  ignore: why !== undefined && !CI,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    if (why !== undefined) {
      throw new Error(`Cannot run the live vDSO test under CI: ${why}`);
    }
    const dir = await Deno.makeTempDir({ prefix: "denoprof-go-vdso-" });
    const children: Deno.ChildProcess[] = [];
    const names: string[] = [];
    try {
      for (const tc of listToolchains()) {
        const bin = await buildFixture(tc, "vdso", "default");
        const name = `vdso${tc.version.replace(".", "")}`;
        await Deno.copyFile(bin, `${dir}/${name}`);
        await Deno.chmod(`${dir}/${name}`, 0o755);
        names.push(name);
        children.push(
          new Deno.Command(`${dir}/${name}`, {
            args: ["3600"],
            stdout: "null",
            stderr: "null",
          }).spawn(),
        );
      }
      const folded = `${dir}/vdso.folded`;
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
      ]);
      assert(r.code === 0, `agent failed: ${r.stderr}`);
      const byName = new Map<string, [string[], number][]>();
      for (const line of (await Deno.readTextFile(folded)).split("\n")) {
        if (line === "") continue;
        const sp = line.lastIndexOf(" ");
        const frames = line.slice(0, sp).split(";");
        const name = frames.shift()!;
        let list = byName.get(name);
        if (list === undefined) byName.set(name, list = []);
        list.push([frames, Number(line.slice(sp + 1))]);
      }
      const pipe = (r.stats?.pipeline ?? {}) as Record<string, number>;
      const vdsoCounts = Object.entries(pipe)
        .filter(([k]) => k.startsWith("go.vdso."))
        .map(([k, v]) => `${k}=${v}`).join(", ") || "none";
      console.log(`vDSO crossings: ${vdsoCounts}`);
      const failures: string[] = [];
      for (const name of names) {
        const o = check(byName.get(name) ?? []);
        const pct = o.vdsoAll === 0
          ? "-"
          : `${(100 * o.vdsoOk / o.vdsoAll).toFixed(1)}%`;
        console.log(
          `${name}: ${o.samples} samples; vDSO leaf ${o.vdsoAll}; full chain ${o.vdsoOk}/${o.vdsoAll} (${pct})`,
        );
        const top = (m: Map<string, number>, n: number) =>
          [...m].sort((a, b) => b[1] - a[1]).slice(0, n);
        for (const [k, n] of top(o.good, 1)) console.log(`  ok ${n}× ${k}`);
        for (const [k, n] of top(o.bad, 5)) console.log(`  bad ${n}× ${k}`);
        if (o.vdsoAll < 5) {
          failures.push(`${name}: only ${o.vdsoAll} vDSO-leaf samples`);
        } else if (o.vdsoOk / o.vdsoAll < 0.95) {
          failures.push(`${name}: ${o.vdsoOk}/${o.vdsoAll} full chains`);
        }
      }
      assertGreaterOrEqual(names.length, GO_MATRIX.length);
      assert(failures.length === 0, failures.join("; "));
    } finally {
      for (const c of children) {
        try {
          c.kill("SIGKILL");
        } catch {
          // already gone
        }
        await c.status;
      }
      await Deno.remove(dir, { recursive: true });
    }
  },
});
