import { strictEqual } from "node:assert";
import { generate } from "../proto/gen.ts";

const ROOT = new URL("../", import.meta.url).pathname;

Deno.test("gen/ is what `deno task gen` makes from proto/ (not stale)", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "denoprof-gen-" });
  try {
    const fresh = await generate(tmp);
    const committed: string[] = [];
    const walk = async (dir: string, rel: string) => {
      for await (const e of Deno.readDir(dir)) {
        if (e.isDirectory) await walk(`${dir}/${e.name}`, `${rel}/${e.name}`);
        else committed.push(`${rel}/${e.name}`);
      }
    };
    await walk(`${ROOT}gen`, "gen");
    strictEqual(
      committed.sort().join("\n"),
      fresh.join("\n"),
      "gen/ has other files than proto/ generates: run `deno task gen`",
    );
    for (const file of fresh) {
      const want = await Deno.readTextFile(`${tmp}/${file}`);
      const have = await Deno.readTextFile(`${ROOT}${file}`);
      strictEqual(have, want, `${file} is stale: run \`deno task gen\``);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
