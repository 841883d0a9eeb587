import { deepStrictEqual, strictEqual } from "node:assert";
import { Profile } from "pprof-format";
import { smallWindow } from "../tests/otlp_fixtures.ts";
import { encodePprof } from "./pprof.ts";

function decode(bytes: Uint8Array) {
  const p = Profile.decode(bytes);
  const s = (i: number | bigint) => p.stringTable.strings[Number(i)]!;
  const fn = new Map(p.function.map((f) => [Number(f.id), s(f.name)]));
  const loc = new Map(p.location.map((l) => [Number(l.id), l]));
  return { p, s, fn, loc };
}

Deno.test("encodePprof() writes counts, cpu time, stacks and labels", () => {
  const { p, s, fn, loc } = decode(encodePprof(smallWindow()));
  deepStrictEqual(p.sampleType.map((t) => [s(t.type), s(t.unit)]), [[
    "samples",
    "count",
  ], ["cpu", "nanoseconds"]]);
  deepStrictEqual([s(p.periodType!.type), s(p.periodType!.unit)], [
    "cpu",
    "nanoseconds",
  ]);
  strictEqual(Number(p.period), 52631579);
  const stacks = p.sample.map((x) => {
    const names: string[] = [];
    for (const id of x.locationId) {
      for (const line of loc.get(Number(id))!.line) {
        names.push(fn.get(Number(line.functionId))!);
      }
    }
    return [names.reverse().join(";"), Number(x.value[0]), Number(x.value[1])];
  });
  deepStrictEqual(stacks, [
    ["main.main;main.work;main.compute", 3, 3 * 52631579],
    ["main.main;main.work;write;__write_nocancel;ksys_write", 2, 2 * 52631579],
    ["[unwind: no CFI];memcpy", 1, 52631579],
  ]);
  const labels = Object.fromEntries(
    p.sample[0]!.label.map((
      l,
    ) => [s(l.key), Number(l.str) ? s(l.str) : Number(l.num)]),
  );
  deepStrictEqual(labels, {
    pid: 4242,
    process: "app",
    "thread.id": 4242,
    "thread.name": "app",
    cpu: "0",
    goroutine: 1,
    handler: "/api",
  });
});
