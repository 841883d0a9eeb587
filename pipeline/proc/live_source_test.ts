/**
 * LiveProcSource against real processes (needs root to open another
 * process's /proc/PID/map_files and /proc/PID/mem; skipped otherwise, FAILING
 * under CI=true) and gcc for the fixtures.
 */
import { assert, assertEquals } from "../../tests/assert.ts";
import { buildNativeFixtures } from "../../tests/fixtures/native/build.ts";
import { nativeSymbolizerOf } from "../objects.ts";
import { LiveProcSource } from "./live_source.ts";
import { ObjectCache } from "./object_cache.ts";
import { ProcessTable } from "./table.ts";

const inCI = Deno.env.get("CI") === "true";
const opts = { ignore: Deno.uid() !== 0 && !inCI, sanitizeResources: false };

function requireRoot(): void {
  if (Deno.uid() !== 0) {
    throw new Error("LiveProcSource tests need root (CI=true)");
  }
}

Deno.test(
  "LiveProcSource opens a deleted executable and library through /proc/PID/map_files",
  opts,
  async () => {
    requireRoot();
    const f = await buildNativeFixtures();
    const tmp = await Deno.makeTempDir({ prefix: "denoprof-deleted-" });
    await Deno.copyFile(f.chain, `${tmp}/chain`);
    await Deno.copyFile(f.leafLib, `${tmp}/libleaf.so`);
    await Deno.chmod(`${tmp}/chain`, 0o755);
    const child = new Deno.Command(`${tmp}/chain`, {
      args: ["-1", "1"],
      stdout: "null",
    }).spawn();
    try {
      await new Promise((r) => setTimeout(r, 300));
      await Deno.remove(tmp, { recursive: true });
      const cache = new ObjectCache();
      const source = new LiveProcSource(cache);
      const maps = source.readMaps(child.pid)!;
      assert(maps.includes(`${tmp}/libleaf.so (deleted)`), maps);
      const facts = source.readFacts(child.pid);
      assertEquals(facts.exe, `${tmp}/chain`);
      assert(facts.startTime !== undefined);

      const table = new ProcessTable(source);
      const proc = table.get(child.pid)!;
      const lib = proc.entries.find((e) =>
        e.path === `${tmp}/libleaf.so` && e.perms.includes("x")
      )!;
      assert(lib.deleted);
      const m = table.resolve(proc, lib.start)!;
      assert(m.file !== undefined, `deleted library not opened: ${m.failure}`);
      const leaf = m.file.elf.symbols().byName("lib_leaf")!;
      // The runtime address of lib_leaf resolves back to it.
      const pc = leaf.start + m.bias + 4;
      assertEquals(table.resolve(proc, pc), m);
      assertEquals(
        nativeSymbolizerOf(m.file).symbolize(pc - m.bias)?.functionName,
        "lib_leaf",
      );

      const exe = proc.entries.find((e) =>
        e.path === `${tmp}/chain` && e.perms.includes("x")
      )!;
      const em = table.resolve(proc, exe.start)!;
      assert(
        em.file !== undefined,
        `deleted executable not opened: ${em.failure}`,
      );
      assert(em.file.elf.symbols().byName("main") !== undefined);
      cache.close();
    } finally {
      child.kill("SIGKILL");
      await child.status;
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
);

Deno.test(
  "LiveProcSource reads the vDSO image from process memory, shared across processes",
  opts,
  async () => {
    requireRoot();
    const a = new Deno.Command("sleep", { args: ["5"] }).spawn();
    const b = new Deno.Command("sleep", { args: ["5"] }).spawn();
    try {
      await new Promise((r) => setTimeout(r, 100));
      const cache = new ObjectCache();
      const source = new LiveProcSource(cache);
      const table = new ProcessTable(source);
      const files = [a.pid, b.pid].map((pid) => {
        const proc = table.get(pid)!;
        const vdso = proc.entries.find((e) => e.path === "[vdso]")!;
        const m = table.resolve(proc, vdso.start)!;
        assert(m.file !== undefined, `vDSO not read: ${m.failure}`);
        const sym = m.file.elf.symbols().byName("__vdso_clock_gettime");
        assert(sym !== undefined);
        assertEquals(
          nativeSymbolizerOf(m.file).symbolize(sym.start)?.functionName
            .includes("clock_gettime"),
          true,
        );
        return m.file;
      });
      assertEquals(files[0], files[1]);
      assertEquals(cache.stats.opened, 1);
      assertEquals(
        source.openMapped(a.pid, {
          ...table.get(a.pid)!.entries[0]!,
          path: "[heap]",
        }),
        "missing",
      );
      cache.close();
    } finally {
      for (const c of [a, b]) {
        c.kill("SIGKILL");
        await c.status;
      }
    }
  },
);

Deno.test(
  "LiveProcSource on a process that is gone reads nothing and fails softly",
  opts,
  async () => {
    requireRoot();
    const c = new Deno.Command("true").spawn();
    await c.status;
    const source = new LiveProcSource(new ObjectCache());
    assertEquals(source.readMaps(c.pid), undefined);
    assertEquals(source.readFacts(c.pid).startTime, undefined);
  },
);
