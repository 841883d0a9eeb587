import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { BpfError } from "./errors.ts";
import { pollFor, requireLive, skipLive, spawnBusy } from "./_live.ts";
import { COUNTER_NAMES, Sampler } from "./sampler.ts";
import { checkPrivileges } from "./privileges.ts";
import { encodeGoProc } from "./go_proc.ts";
import { parseCpuList } from "./perf_event.ts";

Deno.test("Sampler.open() names a nonexistent object path", () => {
  throws(
    () =>
      Sampler.open({ frequency: 19, object: "/nonexistent/profiler.bpf.o" }),
    (e: unknown) =>
      e instanceof BpfError && e.op === "open" &&
      e.object === "/nonexistent/profiler.bpf.o" &&
      e.message.startsWith('Cannot open "/nonexistent/profiler.bpf.o": ENOENT'),
  );
});

Deno.test("Sampler.open() names a garbage object", () => {
  throws(
    () =>
      Sampler.open({
        frequency: 19,
        object: new TextEncoder().encode("not an ELF file at all"),
      }),
    (e: unknown) =>
      e instanceof BpfError && e.object === "<profiler object bytes>" &&
      e.message.includes("<profiler object bytes>"),
  );
});

Deno.test("Sampler.open() rejects out-of-range stack sizes", () => {
  throws(() => Sampler.open({ frequency: 19, ustackMax: 1 << 20 }), RangeError);
});

Deno.test("BpfError explains EPERM and keeps the log tail", () => {
  const e = new BpfError("load", "x.bpf.o", -1, {
    log: "a\nb\nR2 invalid mem access",
  });
  strictEqual(e.errno, 1);
  ok(e.message.includes("CAP_BPF+CAP_PERFMON"));
  ok(e.message.endsWith("R2 invalid mem access"));
});

Deno.test("checkPrivileges() returns undefined or a message naming what is missing", () => {
  const p = checkPrivileges();
  ok(p === undefined || p.startsWith("Cannot sample: "));
});

Deno.test("parseCpuList() and encodeGoProc() basics", () => {
  deepStrictEqual(parseCpuList("0-1,3,8-9\n"), [0, 1, 3, 8, 9]);
  throws(() => parseCpuList("x"), SyntaxError);
  // Go 1.26's offsets (checked against DWARF in tests/go_offsets_test.ts).
  const b = encodeGoProc({
    tlsGOffset: -8,
    offGM: 48,
    offGSchedSp: 56,
    offGSchedPc: 64,
    offGSchedBp: 96,
    offGSyscallsp: 104,
    offGSyscallpc: 112,
    offGSyscallbp: 120,
    offGGoid: 152,
    offGLabels: 352,
    offMG0: 0,
    offMCurg: 184,
    offMNcgo: 328,
    offMIsextra: 281,
    offMVdsoSp: 896,
    offMVdsoPc: 904,
  });
  const v = new DataView(b.buffer);
  strictEqual(v.getBigInt64(0, true), -8n);
  strictEqual(v.getUint32(48, true), 184); // off_m_curg
  strictEqual(v.getUint32(64, true), 896); // off_m_vdsosp
});

Deno.test({
  name:
    "Sampler samples a busy process and whole-system mode sees several (live)",
  ignore: skipLive,
  async fn() {
    requireLive();
    const child = spawnBusy();
    try {
      using s = Sampler.open({
        frequency: 99,
        pids: [child.pid],
        ustackMax: 4096,
      });
      const pids = new Set<number>();
      let n = 0;
      const cpuBefore = cpuTicks(child.pid);
      await pollFor(1000, 100, () => {
        n += s.drain((rec) =>
          pids.add(new DataView(rec.buffer, rec.byteOffset).getUint32(8, true))
        );
      });
      deepStrictEqual([...pids], [child.pid]);
      // Expect a sample per 1/99 s of CPU the child actually got (the
      // machine may be shared), within a wide margin.
      const cpu = (cpuTicks(child.pid) - cpuBefore) / 100;
      ok(
        n >= Math.max(5, cpu * 99 * 0.6),
        `only ${n} samples at 99 Hz for ${cpu.toFixed(2)} s of CPU`,
      );
      const c = s.counters();
      deepStrictEqual(Object.keys(c), [...COUNTER_NAMES]);
      ok(c.samples! >= n && c.ringbufFull === 0);
      s.removePid(child.pid);
      await pollFor(200, 100, () => s.drain(() => {}));
      strictEqual(s.drain(() => {}), 0);
    } finally {
      child.kill();
      await child.status;
    }
    // Two busy processes of our own: whole-system mode must see both
    // without relying on anything else running on the machine.
    const busy = [spawnBusy(), spawnBusy()];
    try {
      using all = Sampler.open({ frequency: 99, ustackMax: 1024 });
      const pids = new Set<number>();
      await pollFor(1500, 100, () => {
        all.drain((rec) =>
          pids.add(new DataView(rec.buffer, rec.byteOffset).getUint32(8, true))
        );
      });
      ok(
        busy.every((b) => pids.has(b.pid)),
        `whole system saw pids ${[...pids]}, not both of ${
          busy.map((b) => b.pid)
        }`,
      );
    } finally {
      for (const b of busy) {
        b.kill();
        await b.status;
      }
    }
  },
});

/** utime + stime of a process in clock ticks (100 per second). */
function cpuTicks(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}
