/**
 * The Go version matrix (issue 4): for every toolchain of
 * `scripts/go-toolchains.sh` and every build variant, the fixture's Go
 * build info, gopclntab symbolization (checked against `go tool addr2line`
 * of the same toolchain), inlined frames, text start and TLS offset.
 */
import { assert, assertEquals } from "./assert.ts";
import { FileSource } from "../pipeline/binary/mod.ts";
import { parseElf } from "../pipeline/elf/mod.ts";
import { type GoFrame, openGoBinary } from "../pipeline/golang/mod.ts";
import {
  buildFixture,
  GO_VARIANTS,
  goTool,
  type GoToolchain,
  type GoVariant,
  requireToolchains,
} from "./fixtures/go/toolchains.ts";

const toolchains = requireToolchains();
const SAMPLES = 3000;

/** Deterministic pcs across the text of the table (LCG), plus every pc of main.*. */
function samplePcs(start: number, end: number, extra: number[]): number[] {
  const pcs: number[] = [];
  let x = 12345;
  for (let k = 0; k < SAMPLES; k++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    pcs.push(start + Math.floor((x / 2147483648) * (end - start)));
  }
  return pcs.concat(extra);
}

/** addr2line of Go 1.19 cannot read its own PIE binaries (prints `?` for every pc); 1.21's reads them. */
function oracleFor(tc: GoToolchain, variant: GoVariant): GoToolchain {
  if (tc.version === "1.19" && variant === "pie") {
    return toolchains.find((t) => t.version !== "1.19") ?? tc;
  }
  return tc;
}

Deno.test("Go matrix: toolchains are present", () => {
  assert(
    toolchains.length > 0 || Deno.env.get("CI") !== "true",
    "no Go toolchain: run scripts/go-toolchains.sh",
  );
  if (toolchains.length === 0) {
    console.warn("no Go toolchains in the cache: matrix tests skipped");
  }
});

for (const tc of toolchains) {
  const cases: [string, GoVariant][] = [
    ...GO_VARIANTS.map((v): [string, GoVariant] => ["chain", v]),
    ["cgo", "default"],
    ["cgo", "static"],
  ];
  for (const [program, variant] of cases) {
    Deno.test(`go${tc.version} ${program}/${variant}: build info, pclntab vs addr2line, inlined frames, TLS`, async (t) => {
      const path = await buildFixture(tc, program, variant);
      using src = new FileSource(path);
      const elf = parseElf(src);
      const go = openGoBinary(elf);
      assert(go !== undefined, "not detected as Go");
      const tab = go.pclntab;

      await t.step("build info", () => {
        assert(
          go.buildInfo.version.startsWith(`go${tc.version}`),
          go.buildInfo.version,
        );
        assertEquals(go.buildInfo.minor, +tc.version.split(".")[1]!);
        assertEquals(go.buildInfo.path, `denoprof.test/${program}`);
        assertEquals(go.buildInfo.ptrSize, 8);
        assert(go.buildInfo.goBuildId !== undefined, "no .note.go.buildid");
        const cgo = go.buildInfo.settings.get("CGO_ENABLED");
        assertEquals(
          cgo,
          program === "chain" && variant === "static" ? "0" : "1",
        );
      });

      await t.step("text start", () => {
        // 1.26 writes 0 in the header: the moduledata gives it, also stripped.
        assertEquals(
          tab.textStartSource,
          tc.version === "1.26" ? "moduledata" : "header",
        );
        assert(tab.gofunc !== undefined, "funcdata base (go:func.*) not found");
      });

      await t.step("symbolization agrees with go tool addr2line", async () => {
        const extra: number[] = [];
        for (let i = 0; i < tab.nfunc; i++) {
          if (!tab.funcName(i).startsWith("main.")) continue;
          for (let pc = tab.funcEntry(i); pc < tab.funcEnd(i); pc++) {
            extra.push(pc);
          }
        }
        const pcs = samplePcs(tab.textStart, tab.textEnd, extra);
        const out = (await goTool(
          oracleFor(tc, variant),
          ["addr2line", path],
          pcs.map((p) => "0x" + p.toString(16)).join("\n") + "\n",
        )).split("\n");
        let checked = 0;
        const bad: string[] = [];
        for (let k = 0; k < pcs.length; k++) {
          const fn = out[2 * k]!, fl = out[2 * k + 1]!;
          const fr = tab.symbolize(pcs[k]!);
          // addr2line names the physical (outermost) function and the
          // innermost inlined position's file:line; padding is `:-1`.
          const name = fr.length ? fr[fr.length - 1]!.functionName : "?";
          const pos = fr.length === 0
            ? "?:0"
            : fr[0]!.fileName === "?"
            ? ":-1"
            : `${fr[0]!.fileName}:${fr[0]!.line}`;
          if (name !== fn || pos !== fl) {
            bad.push(
              `0x${
                pcs[k]!.toString(16)
              }: addr2line ${fn} ${fl}, denoprof ${name} ${pos}`,
            );
          }
          checked++;
        }
        assertEquals(
          bad.slice(0, 10),
          [],
          `${bad.length} of ${checked} disagree`,
        );
      });

      if (program === "chain") {
        await t.step(
          "main.b is expanded as its own frame inside main.a",
          () => {
            let found = false;
            for (let i = 0; i < tab.nfunc && !found; i++) {
              if (tab.funcName(i) !== "main.a") continue;
              for (let pc = tab.funcEntry(i); pc < tab.funcEnd(i); pc++) {
                const fr: readonly GoFrame[] = go.symbolizeGo(pc, false);
                if (fr.length === 2 && fr[0]!.functionName === "main.b") {
                  assertEquals(fr[0]!.inlined, true);
                  assertEquals(fr[1]!.functionName, "main.a");
                  assertEquals(fr[1]!.inlined, false);
                  assert(fr[0]!.fileName.endsWith("chain/main.go"));
                  assertEquals(fr[0]!.line, 29); // return c(n+1) ^ ...
                  assertEquals(fr[1]!.line, 34); // return b(n) + 1
                  found = true;
                  break;
                }
              }
            }
            assert(found, "no pc of main.a shows the inlined main.b");
          },
        );
      }

      await t.step("TLS offset of g", () => {
        const tls = go.tlsOffset();
        assertEquals(tls.source, "decode");
        // -8 except static external linking, where libc's TLS comes first.
        if (program === "cgo" && variant === "static") assert(tls.offset < -8);
        else assertEquals(tls.offset, -8);
      });
    });
  }
}
