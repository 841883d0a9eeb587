/**
 * Decides whether a process runs Go and, if so, what the BPF program must be
 * told to read its g/m words: the TLS offset of g and the runtime struct
 * offsets of that binary's Go version (from DWARF, else the verified table).
 *
 * @module
 */
import type { GoProcConfig } from "../bpf/go_proc.ts";
import type { GoRuntimeOffsets } from "./golang/offsets.ts";
import { goBinaryOf } from "./objects.ts";
import type { ProcessState, ProcessTable } from "./proc/table.ts";

/** Outcome of checking one process. */
export type GoProcessCheck =
  | {
    readonly kind: "go";
    readonly config: GoProcConfig;
    readonly version: string;
  }
  | { readonly kind: "not-go" }
  | { readonly kind: "unsupported"; readonly reason: string };

function nonNegative(v: number): number {
  return v < 0 ? 0 : v;
}

/**
 * The kernel-side config (struct dp_go_proc) for a Go binary's runtime
 * offsets: one place turns offsets into what the BPF program reads.
 *
 * @param o Runtime struct offsets (DWARF or the verified table); fields a
 *   version lacks (-1) become 0, which the BPF program reads as "absent".
 * @param tlsGOffset Offset of g from the thread's TLS base.
 * @returns The config for `Sampler.setGoProcess`.
 */
export function goProcConfig(
  o: GoRuntimeOffsets,
  tlsGOffset: number,
): GoProcConfig {
  return {
    tlsGOffset,
    offGM: o.gM,
    offGSchedSp: o.gSchedSp,
    offGSchedPc: o.gSchedPc,
    offGSchedBp: nonNegative(o.gSchedBp),
    offGSyscallsp: o.gSyscallSp,
    offGSyscallpc: o.gSyscallPc,
    offGSyscallbp: nonNegative(o.gSyscallBp),
    offGGoid: o.gGoid,
    offGLabels: nonNegative(o.gLabels),
    offMG0: o.mG0,
    offMCurg: o.mCurg,
    offMNcgo: nonNegative(o.mNcgo),
    offMIsextra: nonNegative(o.mIsextra),
    // Both or neither: the kernel reads vdsoPC only with vdsoSP.
    offMVdsoSp: o.mVdsoPc < 0 ? 0 : nonNegative(o.mVdsoSp),
    offMVdsoPc: o.mVdsoSp < 0 ? 0 : nonNegative(o.mVdsoPc),
  };
}

/**
 * Checks the main executable of a process.
 *
 * @param table The process table.
 * @param proc The process.
 * @returns Whether it is Go, with the kernel config when it is supported.
 */
export function checkGoProcess(
  table: ProcessTable,
  proc: ProcessState,
): GoProcessCheck {
  const exe = proc.facts.exe;
  const entry =
    proc.entries.find((e) => e.path === exe && e.perms.includes("x")) ??
      proc.entries.find((e) => e.path === exe);
  if (entry === undefined) return { kind: "not-go" };
  const module = table.resolve(proc, entry.start);
  const file = module?.file;
  if (file === undefined) return { kind: "not-go" };
  const go = goBinaryOf(file);
  if (go === undefined) return { kind: "not-go" };
  try {
    const config = goProcConfig(go.offsets(), go.tlsOffset().offset);
    return { kind: "go", config, version: go.buildInfo.version };
  } catch (err) {
    return { kind: "unsupported", reason: (err as Error).message };
  }
}
