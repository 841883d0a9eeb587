/**
 * Go unwinding without a kernel: the recordings under
 * tests/fixtures/recordings/go-* (the chain fixture of the Go matrix, live at
 * 99 Hz: Go 1.26 stripped and Go 1.21 PIE in one run) replayed through the
 * real pipeline. The folded output must equal the committed
 * `expected.folded`; the main chain is exact with the inlined main.b; and
 * the OTLP builder marks Go frames `go` and every other user frame of the
 * same processes `native`.
 *
 * Refresh a golden file after an intended change with
 * `deno test -A tests/go_replay_test.ts -- --update`.
 */
import { assert, assertEquals, assertGreaterOrEqual } from "./assert.ts";
import { replayRecording } from "../agent/replay.ts";
import { accumulateFolded, renderFolded } from "../exporters/folded.ts";
import { buildProfilesData } from "../exporters/otlp/build.ts";

const DIR = new URL("./fixtures/recordings/", import.meta.url).pathname;
const UPDATE = Deno.args.includes("--update");
const CHAIN = "runtime.goexit;runtime.main;main.main;main.a;main.b;main.c";

const fixtures = [...Deno.readDirSync(DIR)]
  .filter((e) => e.isDirectory && e.name.startsWith("go-"))
  .map((e) => e.name)
  .sort();

for (const name of fixtures) {
  Deno.test(`replay ${name}: folded stacks match expected.folded`, async () => {
    const dir = `${DIR}${name}`;
    const { windows, stats } = await replayRecording(dir);
    const totals = new Map<string, number>();
    for (const w of windows) accumulateFolded(w, totals);
    const folded = renderFolded(totals);
    if (UPDATE) Deno.writeTextFileSync(`${dir}/expected.folded`, folded);
    assertEquals(folded, Deno.readTextFileSync(`${dir}/expected.folded`));
    assertGreaterOrEqual(stats.samples, 40);

    // Every main.c sample of a main goroutine is the exact chain.
    let chain = 0;
    for (const [stack, count] of totals) {
      const frames = stack.split(";").slice(1).filter((f) =>
        !f.endsWith("_[k]")
      );
      if (frames.at(-1) !== "main.c" || frames.includes("main.recurse")) {
        continue;
      }
      assertEquals(frames.join(";"), CHAIN);
      chain += count;
    }
    assertGreaterOrEqual(chain, 5);

    // Frame types through the OTLP builder.
    for (const w of windows) {
      const data = buildProfilesData(w, {
        defaults: { attributes: new Map(), serviceName: undefined },
        profileId: () => new Uint8Array(16),
      });
      const d = data.dictionary!;
      let go = 0;
      for (const loc of d.locationTable) {
        let type = "";
        for (const i of loc.attributeIndices) {
          const a = d.attributeTable[i]!;
          if (d.stringTable[a.keyStrindex] === "profile.frame.type") {
            type = a.value?.value.case === "stringValue"
              ? a.value.value.value
              : "";
          }
        }
        const fn = loc.lines[0]
          ? d
            .stringTable[
              d.functionTable[loc.lines[0].functionIndex]!.nameStrindex
            ]!
          : "";
        if (/^(main|runtime)\./.test(fn)) {
          assertEquals(type, "go", `${fn} is ${type}`);
          go++;
        } else if (fn.startsWith("__vdso_")) {
          assertEquals(type, "native", `${fn} is ${type}`);
        }
      }
      assert(go > 0, "no Go frame in the OTLP output");
    }
  });
}
