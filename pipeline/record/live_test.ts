import { ok, strictEqual } from "node:assert/strict";
import { pollFor, requireLive, skipLive } from "../../bpf/_live.ts";
import { Sampler } from "../../bpf/sampler.ts";
import { decodeRecord, type RawSample } from "./decode.ts";

/** [lo, hi) of the [stack] mapping of a process. */
function stackMapping(pid: number): [number, number] {
  for (const line of Deno.readTextFileSync(`/proc/${pid}/maps`).split("\n")) {
    if (line.endsWith("[stack]")) {
      const [lo, hi] = line.split(" ")[0]!.split("-");
      return [parseInt(lo!, 16), parseInt(hi!, 16)];
    }
  }
  throw new Error(`no [stack] in /proc/${pid}/maps`);
}

/** utime + stime of a process in seconds (CLK_TCK = 100 on Linux). */
function cpuSeconds(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

Deno.test({
  name:
    "live: 99 Hz on a busy child decodes into samples with sane registers and stacks",
  ignore: skipLive,
  async fn() {
    requireLive();
    // dd with 1-byte blocks: busy in user mode and in read/write syscalls.
    const child = new Deno.Command("dd", {
      args: ["if=/dev/zero", "of=/dev/null", "bs=1"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await new Promise((r) => setTimeout(r, 100)); // let sh exec
      const [lo, hi] = stackMapping(child.pid);
      using s = Sampler.open({ frequency: 99, pids: [child.pid] });
      const cpu0 = cpuSeconds(child.pid);
      const samples: RawSample[] = [];
      let kernelFrames = 0;
      await pollFor(2000, 200, () => {
        s.drain((rec) => {
          const x = decodeRecord(rec);
          kernelFrames += x.kstack.length;
          // Copy out: the views die when drain returns.
          samples.push({
            ...x,
            ustack: { ...x.ustack, bytes: x.ustack.bytes.slice() },
          });
        });
      });
      const c = s.counters();
      // The machine is shared: compare with the CPU time the child really got.
      const expected = (cpuSeconds(child.pid) - cpu0) * 99;
      ok(
        samples.length >= 20 &&
          Math.abs(samples.length - expected) <= expected * 0.25 + 5,
        `${samples.length} samples, expected about ${
          expected.toFixed(0)
        } from the child's CPU time (counters ${JSON.stringify(c)})`,
      );
      ok(c.samples! >= samples.length);
      strictEqual(c.ringbufFull, 0);
      for (const x of samples) {
        strictEqual(x.pid, child.pid);
        strictEqual(x.comm, "dd");
        ok(x.hasUserRegs);
        ok(
          x.sp >= lo && x.sp < hi,
          `sp ${x.sp.toString(16)} outside [stack] ${lo.toString(16)}-${
            hi.toString(16)
          }`,
        );
        ok(x.ustack.bytes.length > 0 && x.ustack.bytes.length <= 16384);
        ok(
          x.ustack.bytes.length === 16384 || x.sp + x.ustack.bytes.length <= hi,
        );
        ok(x.pc > 0 && x.pc < 2 ** 47);
        if (x.kernelMode) {
          ok(x.kstack.length > 0, "kernel-mode sample without kernel stack");
        }
        for (const a of x.kstack) {
          ok(a >= 0xffff800000000000n, `kernel address ${a.toString(16)}`);
        }
      }
      ok(kernelFrames > 0, "no kernel frames from a syscall-heavy process");
      console.log(
        `live: ${samples.length} samples (expected ~${
          expected.toFixed(0)
        }), ${kernelFrames} kernel frames, counters ${JSON.stringify(c)}`,
      );
    } finally {
      child.kill();
      await child.status;
    }
  },
});
