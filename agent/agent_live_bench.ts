/**
 * The agent's own cost, live: runs the real agent in whole-system mode at
 * 99 Hz for 5 s next to a busy C program and reports the agent's CPU time per
 * sample and its peak memory (VmHWM). Needs root and BPF; skipped otherwise.
 * One iteration: the numbers are printed, `deno bench`'s timing is the run.
 */
const root = new URL("..", import.meta.url).pathname;

function cpuTicks(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}

function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(
    Deno.readTextFileSync(`/proc/${pid}/status`),
  );
  return m ? Number(m[1]) / 1024 : NaN;
}

Deno.bench({
  name: "agent live: whole system, 99 Hz, 5 s (CPU per sample, peak RSS)",
  group: "agent",
  n: 1,
  warmup: 0,
  ignore: Deno.uid() !== 0,
  async fn() {
    const gcc = await new Deno.Command("gcc", {
      args: [
        "-O1",
        "-o",
        "/tmp/denoprof-bench-busy",
        `${root}tests/fixtures/c/fp_chain.c`,
      ],
    }).output();
    if (!gcc.success) throw new Error("gcc failed");
    const busy = new Deno.Command("/tmp/denoprof-bench-busy", {
      args: ["9"],
      stdout: "null",
    })
      .spawn();
    const agent = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `${root}agent/main.ts`,
        "--duration",
        "5",
        "--frequency",
        "99",
        "--exporter",
        "folded:/tmp/denoprof-bench.folded",
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const out = new Response(agent.stdout).text();
    let err = "";
    let startTicks = 0;
    let endTicks = 0;
    let rss = NaN;
    for await (
      const chunk of agent.stderr.pipeThrough(new TextDecoderStream())
    ) {
      err += chunk;
      if (startTicks === 0 && err.includes("denoprof: sampling")) {
        startTicks = cpuTicks(agent.pid);
      }
      if (endTicks === 0 && err.includes("denoprof: stopping")) {
        endTicks = cpuTicks(agent.pid);
        rss = peakRssMb(agent.pid);
      }
    }
    await agent.status;
    try {
      busy.kill("SIGKILL");
    } catch {
      // already exited
    }
    await busy.status;
    const line = (await out).split("\n").find((l) =>
      l.startsWith("denoprof-stats ")
    );
    const stats = line ? JSON.parse(line.slice(15)) : { samples: 0 };
    const cpuMs = (endTicks - startTicks) * 10;
    console.log(
      `agent: ${stats.samples} samples in 5 s, ${cpuMs} ms CPU while sampling ` +
        `(${
          (1000 * cpuMs / Math.max(1, stats.samples)).toFixed(0)
        } µs per sample), ` +
        `peak RSS ${rss.toFixed(0)} MB`,
    );
  },
});
