import { assertEquals, assertThrows } from "../tests/assert.ts";
import { parseAgentArgs, UsageError } from "./options.ts";

Deno.test("parseAgentArgs() applies the documented defaults", () => {
  const o = parseAgentArgs([]);
  assertEquals(o.pids, []);
  assertEquals(o.durationSeconds, undefined);
  assertEquals(o.frequency, 19);
  assertEquals(o.intervalSeconds, 5);
  assertEquals(o.exporters, []);
  assertEquals(o.stackBytes, 16384);
  assertEquals(o.unwind, "cfi");
});

Deno.test("parseAgentArgs() reads repeated and comma-separated values", () => {
  const o = parseAgentArgs([
    "--pid=1,2",
    "--pid",
    "3",
    "--exporter",
    "folded:a.folded",
    "--exporter",
    "otlp-grpc:localhost:4317",
    "--frequency",
    "99",
    "--duration",
    "2.5",
  ]);
  assertEquals(o.pids, [1, 2, 3]);
  assertEquals(o.exporters, ["folded:a.folded", "otlp-grpc:localhost:4317"]);
  assertEquals(o.frequency, 99);
  assertEquals(o.durationSeconds, 2.5);
});

Deno.test("parseAgentArgs() rejects bad flags with a UsageError", async (t) => {
  const bad: [string[], string][] = [
    [["--bogus"], "bogus"],
    [["--pid", "abc"], "--pid"],
    [["--pid", "0"], "--pid"],
    [["--frequency", "0"], "--frequency"],
    [["--frequency", "1.5"], "whole number"],
    [["--duration", "-1"], "--duration"],
    [["--exporter", "nokind"], "KIND:TARGET"],
    [["--unwind", "magic"], "cfi or fp"],
    [["stray"], "positional"],
  ];
  for (const [args, text] of bad) {
    await t.step(args.join(" "), () => {
      assertThrows(() => parseAgentArgs(args), UsageError, text);
    });
  }
});
