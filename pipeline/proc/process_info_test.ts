import { assert, assertEquals } from "../../tests/assert.ts";
import {
  parseContainerId,
  parseStartTime,
  readProcFacts,
  readStartTime,
} from "./process_info.ts";

Deno.test("parseStartTime() counts fields after the last parenthesis", () => {
  const stat =
    "42 (we(i)rd name) R 1 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 98765 0 0";
  assertEquals(parseStartTime(stat), 98765);
  assertEquals(parseStartTime("garbage"), undefined);
});

Deno.test("parseContainerId() finds docker, containerd and kubepods ids", () => {
  const id = "0123456789abcdef".repeat(4);
  assertEquals(parseContainerId(`0::/system.slice/docker-${id}.scope\n`), id);
  assertEquals(
    parseContainerId(
      `0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-${id}.scope\n`,
    ),
    id,
  );
  assertEquals(
    parseContainerId(`12:pids:/kubepods/besteffort/pod1/${id}\n`),
    id,
  );
  assertEquals(
    parseContainerId("0::/user.slice/user-0.slice/session-1.scope\n"),
    undefined,
  );
});

Deno.test("readProcFacts() reads this process", () => {
  const facts = readProcFacts(Deno.pid);
  assert(facts.exe?.endsWith("deno"), facts.exe);
  assert(facts.commandLine?.includes("test"));
  assertEquals(typeof facts.startTime, "number");
  assertEquals(readStartTime(Deno.pid), facts.startTime);
});

Deno.test("readProcFacts() returns nothing for a vanished process", () => {
  assertEquals(readProcFacts(0x3ffffff), {});
});
