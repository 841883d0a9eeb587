import { ok, strictEqual } from "node:assert/strict";
import { pollFor, requireLive, skipLive } from "../../bpf/_live.ts";
import { goProcConfig } from "../go_process.ts";
import { goOffsetsFromTable } from "../golang/offsets.ts";
import { Sampler } from "../../bpf/sampler.ts";
import { decodeRecord } from "./decode.ts";
import { Flag } from "./layout.ts";

// A cgo program whose C leaf burns CPU: nearly every sample is in C, on the
// g0 stack, with the goroutine parked in runtime.cgocall.
const PROGRAM = `package main

/*
#include <stdint.h>
__attribute__((noinline)) uint64_t c_inner(uint64_t n) {
	volatile uint64_t x = 0;
	for (uint64_t i = 0; i < n; i++) x += i * 7;
	return x;
}
__attribute__((noinline)) uint64_t c_outer(uint64_t n) { return c_inner(n) + 1; }
*/
import "C"
import "fmt"

//go:noinline
func goCallC() uint64 { return uint64(C.c_outer(C.uint64_t(200000000))) }

func main() {
	var s uint64
	for i := 0; ; i++ {
		s += goCallC()
		if i < 0 {
			fmt.Println(s)
		}
	}
}
`;

async function goVersion(): Promise<[number, number] | undefined> {
  try {
    const out = await new Deno.Command("go", {
      args: ["env", "GOVERSION"],
      stderr: "null",
    }).output();
    const m = /^go(\d+)\.(\d+)/.exec(new TextDecoder().decode(out.stdout));
    return m ? [Number(m[1]), Number(m[2])] : undefined;
  } catch {
    return undefined;
  }
}

const version = await goVersion();
if (!version) console.warn("skipping Go live test: no `go` toolchain on PATH");

Deno.test({
  name:
    "live: Go block of a cgo program in C is consistent and the goroutine stack is copied",
  ignore: skipLive || !version,
  async fn() {
    requireLive();
    // The verified per-version table (the agent prefers DWARF; this test
    // checks what the kernel side reads with the table's offsets).
    const cfg = goProcConfig(
      goOffsetsFromTable({ major: version![0], minor: version![1], patch: 0 }),
      -8,
    );
    ok(cfg, `no offsets for go${version!.join(".")}`);
    const dir = await Deno.makeTempDir();
    let child: Deno.ChildProcess | undefined;
    try {
      await Deno.writeTextFile(`${dir}/main.go`, PROGRAM);
      await Deno.writeTextFile(`${dir}/go.mod`, `module cgoburn\ngo 1.20\n`);
      const build = await new Deno.Command("go", {
        args: ["build", "-o", "cgoburn", "."],
        cwd: dir,
        env: {
          CGO_ENABLED: "1",
          GOTOOLCHAIN: "local",
          GOFLAGS: "-buildvcs=false",
        },
      }).output();
      ok(build.success, new TextDecoder().decode(build.stderr));
      child = new Deno.Command(`${dir}/cgoburn`, {
        stdout: "null",
        stderr: "null",
      }).spawn();
      using s = Sampler.open({
        frequency: 99,
        pids: [child.pid],
        gstackMax: 32768,
      });
      s.setGoProcess(child.pid, cfg!);
      let goSamples = 0,
        inC = 0,
        consistent = 0,
        copied = 0,
        readErrors = 0,
        gBytes = 0;
      await pollFor(2000, 200, () => {
        s.drain((rec) => {
          const x = decodeRecord(rec);
          if (!x.go) return;
          goSamples++;
          const g = x.go;
          if (g.readError) {
            readErrors++;
            return;
          }
          if (g.curg === 0 || g.g !== g.g0) return; // on a goroutine, or no curg
          inC++;
          const spOff = x.sp < g.stackLo || x.sp >= g.stackHi;
          if (
            g.curgM === g.m && spOff && g.syscallSp >= g.stackLo &&
            g.syscallSp < g.stackHi &&
            g.schedSp >= g.stackLo && g.schedSp < g.stackHi && g.goid > 0 &&
            g.g0SchedSp !== 0
          ) consistent++;
          if (x.flags & Flag.GSTACK) {
            // The copy starts at the lower of the two resume points inside
            // the stack (sched.sp can lie below syscallsp, e.g. in
            // exitsyscall → systemstack).
            const inStack = (sp: number) => sp >= g.stackLo && sp < g.stackHi;
            const resumes = [g.syscallSp, g.schedSp].filter((sp) =>
              sp !== 0 && inStack(sp)
            );
            const resume = Math.min(...resumes);
            strictEqual(x.gstack.base, resume);
            strictEqual(
              x.gstack.bytes.length,
              Math.min(g.stackHi - resume, 32768),
            );
            copied++;
            gBytes += x.gstack.bytes.length;
          }
        });
      });
      const c = s.counters();
      console.log(
        `go live: ${goSamples} Go samples, ${inC} in C on g0, ${consistent} consistent, ${copied} gstack copies (avg ${
          (gBytes / Math.max(copied, 1)).toFixed(0)
        } B), ${readErrors} read errors; counters ${JSON.stringify(c)}`,
      );
      ok(goSamples >= 20, `only ${goSamples} Go samples`);
      ok(inC >= goSamples * 0.9, `${inC} of ${goSamples} samples in C`);
      ok(consistent >= inC * 0.99, `${consistent} of ${inC} consistent`);
      ok(
        copied >= inC * 0.99,
        `${copied} of ${inC} with a goroutine stack copy`,
      );
      strictEqual(readErrors, 0);
    } finally {
      child?.kill();
      await child?.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});
