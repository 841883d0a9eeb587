/**
 * JIT code named through perf maps, live: Node.js with --perf-basic-prof
 * (V8 writes /tmp/perf-PID.map) burning CPU in a named JavaScript function.
 * Needs root, BPF and node; fails under CI=true when they are missing.
 */
import { inCI, requireLive, skipLive } from "../bpf/_live.ts";
import { assertEquals, assertGreaterOrEqual } from "./assert.ts";
import { readFolded, runAgent } from "./_agent.ts";

const node = (() => {
  try {
    return new Deno.Command("node", { args: ["--version"], stdout: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "JavaScript functions of a V8 process are named from its perf map",
  ignore: skipLive || (!node && !inCI),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    requireLive();
    const script = `
      function denoprofHotLoop(n) { let x = 0; for (let i = 0; i < n; i++) x = (x * 31 + i) | 0; return x; }
      const end = Date.now() + 6000; let s = 0;
      while (Date.now() < end) s += denoprofHotLoop(1e6);
      console.log(s);`;
    const child = new Deno.Command("node", {
      args: ["--perf-basic-prof", "-e", script],
      stdout: "null",
    }).spawn();
    try {
      // Let V8 optimize the function and write its map entry.
      await new Promise((r) => setTimeout(r, 1000));
      const out = await Deno.makeTempFile({ suffix: ".folded" });
      const run = await runAgent([
        "--pid",
        String(child.pid),
        "--duration",
        "2",
        "--frequency",
        "99",
        "--exporter",
        `folded:${out}`,
      ]);
      assertEquals(run.code, 0, run.stderr);
      let total = 0;
      let named = 0;
      for (const [stack, n] of await readFolded(out)) {
        total += n;
        if (stack.includes("denoprofHotLoop")) named += n;
      }
      console.log(`node: ${named}/${total} samples name denoprofHotLoop`);
      assertGreaterOrEqual(total, 20, "too few samples");
      assertGreaterOrEqual(named / total, 0.5);
      await Deno.remove(out);
    } finally {
      try {
        child.kill("SIGKILL");
      } catch {
        // already exited
      }
      await child.status;
      await Deno.remove(`/tmp/perf-${child.pid}.map`).catch(() => {});
    }
  },
});
