/**
 * Synthetic profile windows for the OTLP and pprof tests and the bench: no
 * kernel needed. Frames are interned like the aggregator does.
 *
 * @module
 */
import type {
  Location,
  Mapping,
  ProfileWindow,
  SampleGroup,
} from "../pipeline/model.ts";

/** The executable mapping of the synthetic process. */
export const APP_MAPPING: Mapping = {
  start: 0x400000n,
  limit: 0x500000n,
  fileOffset: 0n,
  path: "/usr/bin/app",
  buildIds: {
    gnu: "0123456789abcdef0123456789abcdef01234567",
    htlhash: "00112233445566778899aabbccddeeff",
  },
};
/** libc of the synthetic process. */
export const LIBC_MAPPING: Mapping = {
  start: 0x7f0000000000n,
  limit: 0x7f0000200000n,
  fileOffset: 0x28000n,
  path: "/usr/lib/x86_64-linux-gnu/libc.so.6",
  buildIds: { gnu: "fedcba9876543210fedcba9876543210fedcba98" },
};
/** The kernel image. */
export const KERNEL_MAPPING: Mapping = {
  start: 0xffffffff81000000n,
  limit: 0xffffffff83000000n,
  fileOffset: 0n,
  path: "[kernel.kallsyms]",
  buildIds: {},
};

/**
 * A small window: process `app` (pid 4242) with three stacks, one of them
 * with an inlined Go frame, one ending in an unwind error, one in the kernel.
 *
 * Expected stacks (root first) and counts:
 * - `main;work;compute` ×3 on thread 4242 (compute inlined into work)
 * - `main;work;write;__write_nocancel;ksys_write` ×2 on thread 4243
 * - `[unwind: no CFI];memcpy` ×1 on thread 4242
 *
 * @param start Window start, Unix ns.
 * @returns The window.
 */
export function smallWindow(start = 1_700_000_000_000_000_000n): ProfileWindow {
  const main: Location = {
    kind: "go",
    address: 0x401000n,
    mapping: APP_MAPPING,
    lines: [{ functionName: "main.main", fileName: "/src/main.go", line: 10 }],
  };
  const workCompute: Location = {
    kind: "go",
    address: 0x402010n,
    mapping: APP_MAPPING,
    lines: [
      { functionName: "main.compute", fileName: "/src/main.go", line: 30 },
      { functionName: "main.work", fileName: "/src/main.go", line: 20 },
    ],
  };
  const work: Location = {
    kind: "go",
    address: 0x402040n,
    mapping: APP_MAPPING,
    lines: [{ functionName: "main.work", fileName: "/src/main.go", line: 22 }],
  };
  const write: Location = {
    kind: "native",
    address: 0x7f0000010100n,
    mapping: LIBC_MAPPING,
    lines: [{ functionName: "write" }],
  };
  const writeNc: Location = {
    kind: "native",
    address: 0x7f0000010200n,
    mapping: LIBC_MAPPING,
    lines: [{ functionName: "__write_nocancel" }],
  };
  const ksys: Location = {
    kind: "kernel",
    address: 0xffffffff81234567n,
    mapping: KERNEL_MAPPING,
    lines: [{ functionName: "ksys_write" }],
  };
  const memcpy: Location = {
    kind: "native",
    address: 0x7f0000020000n,
    mapping: LIBC_MAPPING,
    lines: [{ functionName: "memcpy" }],
  };
  const err: Location = {
    kind: "error",
    address: 0n,
    lines: [{ functionName: "[unwind: no CFI]" }],
  };
  const t = (ms: number) => start + BigInt(ms) * 1_000_000n;
  const samples: SampleGroup[] = [
    {
      stack: [workCompute, main],
      attributes: {
        threadId: 4242,
        threadName: "app",
        cpu: 0,
        goroutineId: 1,
        goLabels: { handler: "/api" },
      },
      count: 3,
      timestampsUnixNano: [t(10), t(60), t(110)],
    },
    {
      stack: [ksys, writeNc, write, work, main],
      attributes: { threadId: 4243, threadName: "app-worker", cpu: 1 },
      count: 2,
      timestampsUnixNano: [t(20), t(70)],
    },
    {
      stack: [memcpy, err],
      attributes: { threadId: 4242, threadName: "app", cpu: 1 },
      count: 1,
      timestampsUnixNano: [t(30)],
    },
  ];
  return {
    startUnixNano: start,
    durationNano: 1_000_000_000n,
    frequency: 19,
    processes: [{
      process: {
        pid: 4242,
        name: "app",
        executablePath: "/usr/bin/app",
        commandLine: "/usr/bin/app --serve",
        containerId: "abcdef0123456789",
        buildIds: { gnu: "0123456789abcdef0123456789abcdef01234567" },
      },
      samples,
    }],
  };
}

/** Folded lines (root first) of {@linkcode smallWindow}, with counts. */
export const SMALL_WINDOW_FOLDED: ReadonlyMap<string, number> = new Map([
  ["app;main.main;main.work;main.compute", 3],
  ["app;main.main;main.work;write;__write_nocancel;ksys_write_[k]", 2],
  ["app;[unwind: no CFI];memcpy", 1],
]);

/**
 * A bench-sized window: `samples` samples over `stacks` distinct stacks of
 * depth 8–40 drawn from 2,000 interned locations over 4 threads and 2 CPUs.
 *
 * @param samples Total samples.
 * @param stacks Distinct stacks.
 * @returns The window.
 */
export function largeWindow(samples = 10_000, stacks = 500): ProfileWindow {
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const locations: Location[] = [];
  for (let i = 0; i < 2000; i++) {
    locations.push({
      kind: i % 10 === 0 ? "kernel" : i % 3 === 0 ? "go" : "native",
      address: 0x401000n + BigInt(i * 16),
      mapping: i % 10 === 0
        ? KERNEL_MAPPING
        : i % 2
        ? APP_MAPPING
        : LIBC_MAPPING,
      lines: i % 7 === 0
        ? [
          { functionName: `pkg.inlined${i}`, fileName: "/src/a.go", line: i },
          {
            functionName: `pkg.fn${i}`,
            fileName: "/src/a.go",
            line: i + 1,
          },
        ]
        : [{ functionName: `fn_${i}`, fileName: "/src/b.c", line: i }],
    });
  }
  const stackList: Location[][] = [];
  for (let s = 0; s < stacks; s++) {
    const depth = 8 + rand(33);
    const st: Location[] = [];
    for (let d = 0; d < depth; d++) st.push(locations[rand(locations.length)]!);
    stackList.push(st);
  }
  const start = 1_700_000_000_000_000_000n;
  const groups = new Map<
    string,
    SampleGroup & { timestampsUnixNano: bigint[]; count: number }
  >();
  for (let i = 0; i < samples; i++) {
    const s = i < stacks ? i : rand(stacks);
    const tid = 100 + rand(4);
    const cpu = rand(2);
    const key = `${s}/${tid}/${cpu}`;
    let g = groups.get(key);
    if (!g) {
      g = {
        stack: stackList[s]!,
        attributes: { threadId: tid, threadName: `worker-${tid}`, cpu },
        count: 0,
        timestampsUnixNano: [],
      };
      groups.set(key, g);
    }
    g.count++;
    g.timestampsUnixNano.push(start + BigInt(i) * 500_000n);
  }
  return {
    startUnixNano: start,
    durationNano: 5_000_000_000n,
    frequency: 19,
    processes: [{
      process: { pid: 99, name: "bench", executablePath: "/usr/bin/bench" },
      samples: [...groups.values()],
    }],
  };
}
