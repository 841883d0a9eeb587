import { gunzipSync } from "node:zlib";
import { assert, assertEquals } from "../../tests/assert.ts";
import { type ByteSource, BytesSource } from "../binary/mod.ts";
import { identityOf, ObjectCache } from "./object_cache.ts";

const dir =
  new URL("../../tests/fixtures/recordings/native-o2/", import.meta.url)
    .pathname;
const index = JSON.parse(Deno.readTextFileSync(`${dir}objects.json`)) as Record<
  string,
  { path: string }
>;
const ELF = gunzipSync(
  Deno.readFileSync(
    `${dir}objects/${Object.keys(index).find((k) =>
      index[k]!.path.endsWith("/libleaf.so")
    )!}.gz`,
  ),
);

/** A source that notes when it is disposed. */
class TrackedSource extends BytesSource implements Disposable {
  static disposed: string[] = [];
  [Symbol.dispose](): void {
    TrackedSource.disposed.push(this.name);
  }
}

function opener(
  name: string,
  log: string[],
): () => { source: ByteSource; path: string } {
  return () => {
    log.push(name);
    return { source: new TrackedSource(ELF, name), path: `/lib/${name}` };
  };
}

Deno.test("ObjectCache evicts the least recently used file beyond maxEntries and closes it", () => {
  TrackedSource.disposed = [];
  const opened: string[] = [];
  const cache = new ObjectCache({ maxEntries: 2 });
  cache.get("a", opener("a", opened));
  cache.get("b", opener("b", opened));
  cache.get("a", opener("a", opened)); // a is now the most recent
  cache.get("c", opener("c", opened)); // evicts b
  assertEquals(cache.size, 2);
  assertEquals(TrackedSource.disposed, ["b"]);
  assertEquals(cache.stats, {
    opened: 3,
    hits: 1,
    evicted: 1,
    missing: 0,
    notElf: 0,
  });
  cache.get("b", opener("b", opened)); // parsed again, evicts a
  assertEquals(opened, ["a", "b", "c", "b"]);
  assertEquals(TrackedSource.disposed, ["b", "a"]);
  cache.close();
  assertEquals(cache.size, 0);
  assertEquals(TrackedSource.disposed.slice(2).sort(), ["b", "c"]);
});

Deno.test("ObjectCache remembers failures so a broken file is not reopened per sample", () => {
  const cache = new ObjectCache();
  let calls = 0;
  const missing = () => {
    calls++;
    throw new Deno.errors.NotFound("gone");
  };
  assertEquals(cache.get("gone", missing), "missing");
  assertEquals(cache.get("gone", missing), "missing");
  assertEquals(calls, 1);
  const garbage = () => {
    calls++;
    return { source: new BytesSource(new Uint8Array(100)), path: "/x" };
  };
  assertEquals(cache.get("junk", garbage), "not-elf");
  assertEquals(cache.get("junk", garbage), "not-elf");
  assertEquals(calls, 2);
  assertEquals(cache.stats.missing, 1);
  assertEquals(cache.stats.notElf, 1);
  assertEquals(cache.stats.hits, 2);
});

Deno.test("ObjectCache.openPath() keys files by identity, not by path", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${tmp}/lib.so`, ELF);
    await Deno.link(`${tmp}/lib.so`, `${tmp}/hardlink.so`);
    const cache = new ObjectCache();
    const a = cache.openPath(`${tmp}/lib.so`);
    const b = cache.openPath(`${tmp}/hardlink.so`);
    assert(typeof a === "object");
    assertEquals(b, a);
    assertEquals(cache.stats.opened, 1);
    assertEquals(a.key, identityOf(await Deno.stat(`${tmp}/lib.so`)));
    assertEquals(cache.openPath(`${tmp}/none.so`), "missing");
    cache.close();
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
