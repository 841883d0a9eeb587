/**
 * Up-front check that this process can load BPF and open system-wide perf
 * events, so the CLI can print one clear message instead of a failed syscall.
 *
 * @module
 */
import { libc } from "./ffi/libc.ts";

const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

/**
 * Checks privileges, kernel BTF and kernel.perf_event_paranoid.
 *
 * @returns `undefined` when sampling should work, else a message naming what
 * is missing.
 *
 * @example Print and exit
 * ```ts ignore
 * import { checkPrivileges } from "./privileges.ts";
 * const problem = checkPrivileges();
 * if (problem) { console.error(problem); Deno.exit(1); }
 * ```
 */
export function checkPrivileges(): string | undefined {
  const problems: string[] = [];
  let caps = 0n;
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(
      Deno.readTextFileSync("/proc/self/status"),
    );
    if (m?.[1]) caps = BigInt("0x" + m[1]);
  } catch {
    // no /proc: treat as no capabilities
  }
  const has = (c: bigint) => (caps >> c) & 1n;
  const root = libc().geteuid() === 0;
  const admin = has(CAP_SYS_ADMIN) === 1n;
  const bpf = admin || has(CAP_BPF) === 1n;
  const perfmon = admin || has(CAP_PERFMON) === 1n;
  if (!bpf || !perfmon) {
    problems.push(
      `${root ? "root without" : "not root and no"} ${
        [!bpf ? "CAP_BPF" : "", !perfmon ? "CAP_PERFMON" : ""].filter(Boolean)
          .join("+")
      }: run as root or grant CAP_BPF+CAP_PERFMON`,
    );
  }
  try {
    Deno.statSync("/sys/kernel/btf/vmlinux");
  } catch {
    problems.push(
      "no kernel BTF at /sys/kernel/btf/vmlinux (kernel needs CONFIG_DEBUG_INFO_BTF=y)",
    );
  }
  if (!perfmon) {
    try {
      const p = Number(
        Deno.readTextFileSync("/proc/sys/kernel/perf_event_paranoid").trim(),
      );
      if (p > 0) {
        problems.push(
          `kernel.perf_event_paranoid is ${p}: system-wide sampling without CAP_PERFMON needs it ≤ 0`,
        );
      }
    } catch {
      problems.push(
        "no /proc/sys/kernel/perf_event_paranoid: perf events unsupported",
      );
    }
  }
  return problems.length ? `Cannot sample: ${problems.join("; ")}` : undefined;
}
