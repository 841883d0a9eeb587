/**
 * Ring buffer consumers compared on real records: each iteration fills the
 * ring by sampling the whole machine at a high rate (two busy children keep
 * both CPUs in user code), then times one drain. Needs root; skipped
 * otherwise. records/s = records per iteration / time per iteration, both
 * printed.
 */
import { Sampler } from "./sampler.ts";
import { liveProblem, spawnBusy } from "./_live.ts";

const FILL_MS = 400;
const configs = [
  { label: "no ustack", frequency: 20000, ustackMax: 0, ringBytes: 64 << 20 },
  {
    label: "4 KiB ustack",
    frequency: 5000,
    ustackMax: 4096,
    ringBytes: 64 << 20,
  },
];

for (const cfg of configs) {
  for (const reader of ["mmap", "libbpf"] as const) {
    Deno.bench({
      name: `${reader} drain, ${cfg.label}`,
      group: `ring/${cfg.label}`,
      baseline: reader === "mmap",
      ignore: liveProblem !== undefined,
      n: 5,
      warmup: 1,
      async fn(b) {
        const kids = [spawnBusy(), spawnBusy()];
        try {
          using s = Sampler.open({ ...cfg, reader });
          await new Promise((r) => setTimeout(r, FILL_MS));
          let bytes = 0;
          b.start();
          const n = s.drain((rec) => bytes += rec[0]!);
          b.end();
          console.log(
            `  ${reader} ${cfg.label}: ${n} records (${s.counters().ringbufFull} lost)`,
          );
          if (bytes < 0) throw new Error("unreachable");
        } finally {
          for (const k of kids) k.kill();
          await Promise.all(kids.map((k) => k.status));
        }
      },
    });
  }
}
