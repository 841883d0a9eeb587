/**
 * Replay golden tests over committed recordings (tests/fixtures/recordings,
 * re-recorded with tests/fixtures/recordings/record.ts). They need no BPF, no
 * root, no compiler and no host file outside the repository, and check that
 * replay reproduces the live run byte for byte.
 */
import { gunzipSync } from "node:zlib";
import { replayRecording } from "../agent/replay.ts";
import {
  accumulateFolded,
  foldedStack,
  renderFolded,
} from "../exporters/folded.ts";
import { BinaryFormatError, BytesSource } from "../pipeline/binary/mod.ts";
import { parseElf } from "../pipeline/elf/mod.ts";
import { nativeSymbolizerOf } from "../pipeline/objects.ts";
import { ObjectCache } from "../pipeline/proc/mod.ts";
import type {
  MapEntry,
  ObjectFile,
  ProcFacts,
  ProcSource,
} from "../pipeline/proc/mod.ts";
import {
  loadRecording,
  RecordingProcSource,
  ReplayProcSource,
  slimDebugFile,
  splitRecords,
} from "../pipeline/recording/mod.ts";
import {
  assert,
  assertEquals,
  assertGreaterOrEqual,
  assertThrows,
} from "./assert.ts";

const root = new URL("..", import.meta.url).pathname;
const O2 = `${root}tests/fixtures/recordings/native-o2`;
const START = "_start;__libc_start_main;__libc_start_call_main;main";

/**
 * Expected user stacks of native-o2 per process (`comm`, plus the `a` nesting
 * depth for chain): every sample must equal one of them, kernel frames aside.
 */
const EXPECTED_O2: Record<string, string[]> = {
  "chain 1": [`chain;${START};a;b;lib_leaf`],
  "chain 16": [`chain;${START};${Array(16).fill("a").join(";")};b;lib_leaf`],
  "signal": [
    `signal;${START};busy_loop;__restore_rt;on_alarm;handler_burn`,
    `signal;${START};busy_loop;__restore_rt;on_alarm`,
    `signal;${START};busy_loop`,
  ],
};

/** Drops trailing kernel frames: the user stack of a sample taken in the kernel. */
function userPart(stack: string): string {
  const frames = stack.split(";");
  while (frames.length > 0 && frames.at(-1)!.endsWith("_[k]")) frames.pop();
  return frames.join(";");
}

async function replayFolded(dir: string, unwind?: "cfi" | "fp") {
  const totals = new Map<string, number>();
  const perProcess = new Map<string, Map<string, number>>();
  let vdsoSamples = 0;
  const vdsoStacks = new Map<string, number>();
  const r = await replayRecording(
    dir,
    unwind === undefined ? {} : { unwind },
  );
  for (const w of r.windows) {
    accumulateFolded(w, totals);
    for (const p of w.processes) {
      const name = p.process.name;
      const key = name === "chain"
        ? `chain ${p.process.commandLine?.split(" ").at(-1)}`
        : name;
      const m = perProcess.get(key) ?? new Map<string, number>();
      perProcess.set(key, m);
      for (const g of p.samples) {
        const k = userPart(foldedStack(name, g.stack));
        m.set(k, (m.get(k) ?? 0) + g.count);
        const leaf = g.stack.find((l) => l.kind !== "kernel");
        if (leaf?.mapping?.path === "[vdso]") {
          vdsoSamples += g.count;
          vdsoStacks.set(k, (vdsoStacks.get(k) ?? 0) + g.count);
        }
      }
    }
  }
  return {
    folded: renderFolded(totals),
    perProcess,
    vdsoSamples,
    vdsoStacks,
    stats: r.stats,
  };
}

/** Share of samples of the chain, signal and vDSO processes whose stacks are as expected. */
function expectedShare(r: Awaited<ReturnType<typeof replayFolded>>): number {
  let ok = 0, all = 0;
  for (const [key, stacks] of r.perProcess) {
    for (const [k, n] of stacks) {
      all += n;
      if (key === "vdso") {
        if (
          k.startsWith(`vdso;${START};vdso_loop`) && !k.includes("[unwind:")
        ) ok += n;
      } else if (EXPECTED_O2[key]!.includes(k)) ok += n;
    }
  }
  return ok / all;
}

Deno.test("replay of native-o2 gives the expected frame lists for every sample", async () => {
  const r = await replayFolded(O2);
  assertEquals([...r.perProcess.keys()].sort(), [
    "chain 1",
    "chain 16",
    "signal",
    "vdso",
  ]);
  for (const [key, stacks] of r.perProcess) {
    let total = 0;
    for (const n of stacks.values()) total += n;
    assertGreaterOrEqual(total, 10, `${key}: too few samples in the recording`);
    if (key === "vdso") continue;
    for (const k of stacks.keys()) {
      assert(EXPECTED_O2[key]!.includes(k), `${key}: unexpected ${k}`);
    }
  }
  // The full chains are the bulk, not just allowed.
  assertGreaterOrEqual(
    r.perProcess.get("signal")!.get(EXPECTED_O2.signal![0]!) ?? 0,
    10,
  );
  assertEquals(expectedShare(r), 1);
  assertEquals(r.stats.unwindErrors, {});
  assertEquals(r.stats.decodeErrors, 0);
});

Deno.test("replay of native-o2 unwinds vDSO samples through the vDSO frame into main", async () => {
  const r = await replayFolded(O2);
  assertGreaterOrEqual(r.vdsoSamples, 10);
  for (const [k] of r.vdsoStacks) {
    assert(
      /^vdso;_start;__libc_start_main;__libc_start_call_main;main;vdso_loop;(clock_gettime;)?__vdso_(clock_gettime|gettimeofday)$/
        .test(k),
      k,
    );
  }
});

Deno.test("replay of native-o2 reproduces the live run's folded output", async () => {
  const { folded } = await replayFolded(O2);
  assertEquals(folded, await Deno.readTextFile(`${O2}/live.folded`));
});

Deno.test("replay with frame pointers only loses the -O2 chains", async () => {
  const cfi = expectedShare(await replayFolded(O2, "cfi"));
  const fp = expectedShare(await replayFolded(O2, "fp"));
  console.log(
    `native-o2 replay: expected stacks CFI ${(100 * cfi).toFixed(1)}%, FP ${
      (100 * fp).toFixed(1)
    }%`,
  );
  assertEquals(cfi, 1);
  assert(
    fp < 0.5,
    `frame pointers should not unwind -O2 -fomit-frame-pointer code: ${fp}`,
  );
});

Deno.test("deno task replay is deterministic and reads nothing outside the repository", async () => {
  const run = async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      // Reads limited to the repository: no /usr/lib/debug, no /proc, no /tmp.
      args: [
        "run",
        `--allow-read=${root}`,
        `${root}agent/replay.ts`,
        O2,
        "--exporter",
        "folded:-",
      ],
      cwd: "/",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, stderr);
    assert(stderr.includes("Unwinding: every stack reached its root"), stderr);
    return out.stdout;
  };
  const a = await run();
  const b = await run();
  assertEquals(a, b);
  assertEquals(
    new TextDecoder().decode(a),
    await Deno.readTextFile(`${O2}/live.folded`),
  );
});

Deno.test("deno task replay exports to files and rejects bad usage", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cmd = (args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", `${root}agent/replay.ts`, ...args],
        stdout: "piped",
        stderr: "piped",
      }).output();
    const ok = await cmd([
      O2,
      "--exporter",
      `folded:${dir}/a.folded`,
      "--exporter",
      `pprof:${dir}/a.pb.gz`,
    ]);
    assertEquals(ok.code, 0, new TextDecoder().decode(ok.stderr));
    assertEquals(
      await Deno.readTextFile(`${dir}/a.folded`),
      await Deno.readTextFile(`${O2}/live.folded`),
    );
    assert(new TextDecoder().decode(ok.stdout).includes("Top functions:"));
    assertEquals((await cmd([])).code, 2);
    assertEquals((await cmd([O2, "--unwind", "dwarf"])).code, 2);
    assertEquals((await cmd([O2, "--exporter", "nope:x"])).code, 2);
    assertEquals((await cmd([dir])).code, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadRecording() validates meta.json and splitRecords() bounds frames", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/meta.json`,
      JSON.stringify({ format: "other", version: 2 }),
    );
    assertThrows(() => loadRecording(dir), SyntaxError, "format");
    await Deno.writeTextFile(
      `${dir}/meta.json`,
      JSON.stringify({ format: "denoprof-recording", version: 99 }),
    );
    assertThrows(() => loadRecording(dir), SyntaxError, "version 99");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const bad = new Uint8Array(16);
  new DataView(bad.buffer).setUint32(0, 100, true);
  assertThrows(() => [...splitRecords(bad)], BinaryFormatError, "overruns");
  assertEquals([...splitRecords(new Uint8Array(0))].length, 0);
  const rec = loadRecording(O2);
  assertEquals(
    [...splitRecords(rec.records)].length,
    rec.meta.windowRecords?.at(-1),
  );
});

/** A fake live source serving one object (an ELF from the recording) and one debug file. */
class FakeSource implements ProcSource {
  files = new ObjectCache();
  constructor(readonly elf: Uint8Array) {}
  readMaps(): string {
    return "7f0000000000-7f0000100000 r-xp 00000000 08:01 42 /lib/libfake.so\n";
  }
  readFacts(): ProcFacts {
    return { comm: "fake", startTime: 7 };
  }
  openMapped(_pid: number, entry: MapEntry) {
    return this.files.get(
      "fake-key",
      () => ({ source: new BytesSource(this.elf), path: entry.path }),
    );
  }
  nowMs(): number {
    return 0;
  }
}

Deno.test("a recording stores gzipped objects and the debug file symbolization used; replay serves only those", async () => {
  const rec = loadRecording(O2);
  const libcId = Object.entries(rec.objects).find(([, o]) => o.debug)![0];
  const libc = gunzipSync(Deno.readFileSync(`${O2}/objects/${libcId}.gz`));
  const debug = gunzipSync(
    Deno.readFileSync(`${O2}/objects/${libcId}.debug.gz`),
  );
  const dir = await Deno.makeTempDir();
  try {
    const live = new FakeSource(libc);
    let lookups = 0;
    const recording = new RecordingProcSource(live, dir, {
      debugLocator: () => {
        lookups++;
        return {
          source: new BytesSource(debug),
          path: "/usr/lib/debug/fake.debug",
        };
      },
    });
    const entry: MapEntry = {
      start: 0x7f0000000000,
      end: 0x7f0000100000,
      perms: "r-xp",
      offset: 0,
      dev: "08:01",
      inode: 42,
      path: "/lib/libfake.so",
      deleted: false,
    };
    assertEquals(recording.readMaps(1), live.readMaps());
    recording.readFacts(1);
    const opened = recording.openMapped(1, entry) as ObjectFile;
    const addr = parseElf(new BytesSource(debug)).symbols().byName(
      "__libc_start_call_main",
    )!.start;
    const liveName = nativeSymbolizerOf(opened).symbolize(addr)?.functionName;
    assertEquals(liveName, "__libc_start_call_main");
    assertEquals(lookups, 1);
    recording.writeIndex();
    const index = JSON.parse(await Deno.readTextFile(`${dir}/objects.json`));
    const id = recording.procs[1]!.objects["7f0000000000"]!;
    assertEquals(index[id].debug, `${id}.debug`);
    assertEquals(
      gunzipSync(await Deno.readFile(`${dir}/objects/${id}.gz`)),
      libc,
    );

    const replay = new ReplayProcSource(
      dir,
      recording.procs,
      new ObjectCache(),
      index,
    );
    assertEquals(replay.readMaps(1), live.readMaps());
    assertEquals(replay.readFacts(1), { comm: "fake", startTime: 7 });
    const served = replay.openMapped(1, entry) as ObjectFile;
    assertEquals(
      nativeSymbolizerOf(served).symbolize(addr)?.functionName,
      "__libc_start_call_main",
    );
    assertEquals(lookups, 1);
    assertEquals(replay.openMapped(1, { ...entry, start: 1 }), "missing");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("slimDebugFile() keeps symbols and lines, drops the rest", () => {
  const rec = loadRecording(O2);
  const libcId = Object.entries(rec.objects).find(([, o]) => o.debug)![0];
  const slim = gunzipSync(
    Deno.readFileSync(`${O2}/objects/${libcId}.debug.gz`),
  );
  // Slimming a slim file changes nothing: the kept sections are a fixed point.
  const again = slimDebugFile(parseElf(new BytesSource(slim)));
  assertEquals(new Uint8Array(again), new Uint8Array(slim));
  const elf = parseElf(new BytesSource(slim));
  assertEquals(elf.programHeaders.length, 0);
  assert(elf.section(".debug_line")!.size > 0);
  assertEquals(elf.section(".debug_info")?.type, 8); // SHT_NOBITS
  assert(elf.symbols().size > 1000);
});

Deno.test("replay without recorded record counts closes windows by sample time", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await new Deno.Command("cp", { args: ["-r", `${O2}/.`, dir] }).output();
    const meta = JSON.parse(await Deno.readTextFile(`${dir}/meta.json`));
    const counts: number[] = meta.windowRecords;
    delete meta.windowRecords;
    await Deno.writeTextFile(`${dir}/meta.json`, JSON.stringify(meta));
    const byTime = await replayRecording(dir);
    const byCount = await replayRecording(O2);
    assertEquals(byTime.windows.length, byCount.windows.length);
    assertEquals(byTime.stats.samples, counts.at(-1));
    const fold = (ws: typeof byTime.windows) => {
      const m = new Map<string, number>();
      for (const w of ws) accumulateFolded(w, m);
      return renderFolded(m);
    };
    assertEquals(fold(byTime.windows), fold(byCount.windows));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
