import { strictEqual } from "node:assert/strict";
import {
  COUNTER_NAMES,
  Flag,
  GO_PROC_SIZE,
  GoProcOff,
  Off,
  RECORD_HEADER_SIZE,
  RECORD_VERSION,
} from "./layout.ts";
import {
  encodeGoProc,
  GO_PROC_SIZE as BPF_GO_PROC_SIZE,
} from "../../bpf/go_proc.ts";

const HEADER = new URL("../../bpf/profiler.h", import.meta.url).pathname;

async function hasGcc(): Promise<boolean> {
  try {
    return (await new Deno.Command("gcc", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output()).success;
  } catch {
    return false;
  }
}

/** Compiles a C program that prints "name offset" lines and parses them. */
async function cOffsets(): Promise<Map<string, number>> {
  const fields = [
    ...Object.keys(Off).map((f) => `P(dp_record, ${f});`),
    ...Object.keys(GoProcOff).map((f) => `P(dp_go_proc, ${f});`),
    ...Object.keys(Flag).map((f) => `printf("flag.${f} %u\\n", DP_F_${f});`),
  ];
  const src = `#include <stdio.h>
#include <stddef.h>
#include <linux/types.h>
#include "${HEADER}"
#define P(s, f) printf(#s "." #f " %zu\\n", offsetof(struct s, f))
int main(void) {
  ${fields.join("\n  ")}
  printf("sizeof.dp_record %zu\\n", sizeof(struct dp_record));
  printf("sizeof.dp_go_proc %zu\\n", sizeof(struct dp_go_proc));
  printf("version %d\\n", DP_RECORD_VERSION);
  printf("counters %d\\n", DP_C_MAX);
  return 0;
}
`;
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/t.c`, src);
    const cc = await new Deno.Command("gcc", {
      args: ["-Wall", "-o", `${dir}/t`, `${dir}/t.c`],
    }).output();
    if (!cc.success) {
      throw new Error(`gcc failed: ${new TextDecoder().decode(cc.stderr)}`);
    }
    const run = await new Deno.Command(`${dir}/t`).output();
    const out = new Map<string, number>();
    for (
      const line of new TextDecoder().decode(run.stdout).trim().split("\n")
    ) {
      const [k, v] = line.split(" ");
      out.set(k!, Number(v));
    }
    return out;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "layout matches bpf/profiler.h as compiled by gcc",
  ignore: !(await hasGcc()) && Deno.env.get("CI") !== "true",
  async fn() {
    const c = await cOffsets();
    for (const [f, off] of Object.entries(Off)) {
      strictEqual(off, c.get(`dp_record.${f}`), `dp_record.${f}`);
    }
    for (const [f, off] of Object.entries(GoProcOff)) {
      strictEqual(off, c.get(`dp_go_proc.${f}`), `dp_go_proc.${f}`);
    }
    for (const [f, bit] of Object.entries(Flag)) {
      strictEqual(bit, c.get(`flag.${f}`), `DP_F_${f}`);
    }
    strictEqual(RECORD_HEADER_SIZE, c.get("sizeof.dp_record"));
    strictEqual(GO_PROC_SIZE, c.get("sizeof.dp_go_proc"));
    strictEqual(RECORD_VERSION, c.get("version"));
    strictEqual(COUNTER_NAMES.length, c.get("counters"));
  },
});

Deno.test("layout counter names and go_proc size agree with bpf/", () => {
  strictEqual(GO_PROC_SIZE, BPF_GO_PROC_SIZE);
  strictEqual(RECORD_HEADER_SIZE, 256);
});

Deno.test("encodeGoProc() writes every field at its GoProcOff offset", () => {
  const cfg = {
    tlsGOffset: -8,
    offGM: 1,
    offGSchedSp: 2,
    offGSchedPc: 3,
    offGSchedBp: 4,
    offGSyscallsp: 5,
    offGSyscallpc: 6,
    offGSyscallbp: 7,
    offGGoid: 8,
    offGLabels: 9,
    offMG0: 10,
    offMCurg: 11,
    offMNcgo: 12,
    offMIsextra: 13,
    offMVdsoSp: 14,
    offMVdsoPc: 15,
  };
  const v = new DataView(encodeGoProc(cfg).buffer);
  strictEqual(v.getBigInt64(GoProcOff.tls_g_offset, true), -8n);
  const order = [
    "off_g_m",
    "off_g_sched_sp",
    "off_g_sched_pc",
    "off_g_sched_bp",
    "off_g_syscallsp",
    "off_g_syscallpc",
    "off_g_syscallbp",
    "off_g_goid",
    "off_g_labels",
    "off_m_g0",
    "off_m_curg",
  ] as const;
  order.forEach((f, i) =>
    strictEqual(v.getUint32(GoProcOff[f], true), i + 1, f)
  );
  strictEqual(v.getUint32(GoProcOff.reserved, true), 0);
  strictEqual(v.getUint32(GoProcOff.off_m_ncgo, true), 12);
  strictEqual(v.getUint32(GoProcOff.off_m_isextra, true), 13);
  strictEqual(v.getUint32(GoProcOff.off_m_vdsosp, true), 14);
  strictEqual(v.getUint32(GoProcOff.off_m_vdsopc, true), 15);
});
