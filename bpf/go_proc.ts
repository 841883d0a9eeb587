/**
 * What the BPF program needs to know about one Go process (struct dp_go_proc
 * in bpf/profiler.h): where g lives in TLS and the runtime struct offsets of
 * that binary's Go version.
 *
 * @module
 */

/** Mirror of struct dp_go_proc (bpf/profiler.h); every offset in bytes. */
export interface GoProcConfig {
  /** g = *(tls_base + tlsGOffset); amd64 usually -8. */
  tlsGOffset: number;
  /** g.m */
  offGM: number;
  /** g.sched.sp */
  offGSchedSp: number;
  /** g.sched.pc */
  offGSchedPc: number;
  /** g.sched.bp */
  offGSchedBp: number;
  /** g.syscallsp */
  offGSyscallsp: number;
  /** g.syscallpc */
  offGSyscallpc: number;
  /** g.syscallbp, 0 when the version has none (< 1.23). */
  offGSyscallbp: number;
  /** g.goid */
  offGGoid: number;
  /** g.labels, 0 when unknown. */
  offGLabels: number;
  /** m.g0 */
  offMG0: number;
  /** m.curg */
  offMCurg: number;
  /** m.ncgo (int32); 0 = unknown: no system stack copy in callbacks. */
  offMNcgo: number;
  /** m.isextra (bool); 0 = the version has none (< 1.21). */
  offMIsextra: number;
}

/** sizeof(struct dp_go_proc). */
export const GO_PROC_SIZE = 64;

/**
 * Encodes a config in the kernel's layout (little-endian).
 *
 * @param cfg The offsets.
 * @returns 64 bytes for the `go_procs` map value.
 *
 * @example Encode
 * ```ts
 * import { encodeGoProc, goProcConfigForVersion } from "./go_proc.ts";
 * const b = encodeGoProc(goProcConfigForVersion(1, 26)!);
 * console.assert(b.length === 64);
 * ```
 */
export function encodeGoProc(cfg: GoProcConfig): Uint8Array {
  const out = new Uint8Array(GO_PROC_SIZE);
  const v = new DataView(out.buffer);
  v.setBigInt64(0, BigInt(cfg.tlsGOffset), true);
  const fields = [
    cfg.offGM,
    cfg.offGSchedSp,
    cfg.offGSchedPc,
    cfg.offGSchedBp,
    cfg.offGSyscallsp,
    cfg.offGSyscallpc,
    cfg.offGSyscallbp,
    cfg.offGGoid,
    cfg.offGLabels,
    cfg.offMG0,
    cfg.offMCurg,
  ];
  fields.forEach((f, i) => v.setUint32(8 + 4 * i, f, true));
  // 52: reserved
  v.setUint32(56, cfg.offMNcgo, true);
  v.setUint32(60, cfg.offMIsextra, true);
  return out;
}

/**
 * Offsets per Go version for stripped binaries (shared/reference
 * go-runtime.md §2; prefer DWARF when the binary has it). `labels` is left 0
 * (unknown) because its offset moves with unrelated fields.
 *
 * @param major Go major version (1).
 * @param minor Go minor version.
 * @returns The config with tlsGOffset -8, or `undefined` for versions
 * outside 1.20–1.26 (refuse rather than guess).
 */
export function goProcConfigForVersion(
  major: number,
  minor: number,
): GoProcConfig | undefined {
  if (major !== 1 || minor < 20 || minor > 26) return undefined;
  const base = {
    tlsGOffset: -8,
    offGM: 48,
    offGSchedSp: 56,
    offGSchedPc: 64,
    offGLabels: 0,
    offMG0: 0,
  };
  if (minor <= 21) {
    return {
      ...base,
      offGSchedBp: 104,
      offGSyscallsp: 112,
      offGSyscallpc: 120,
      offGSyscallbp: 0,
      offGGoid: 152,
      offMCurg: 192,
      offMNcgo: 312,
      offMIsextra: minor === 21 ? 281 : 0,
    };
  }
  if (minor <= 22) {
    return {
      ...base,
      offGSchedBp: 104,
      offGSyscallsp: 112,
      offGSyscallpc: 120,
      offGSyscallbp: 0,
      offGGoid: 152,
      offMCurg: 192,
      offMNcgo: 304,
      offMIsextra: 281,
    };
  }
  if (minor <= 24) {
    return {
      ...base,
      offGSchedBp: 104,
      offGSyscallsp: 112,
      offGSyscallpc: 120,
      offGSyscallbp: 128,
      offGGoid: 160,
      offMCurg: 192,
      offMNcgo: 304,
      offMIsextra: 281,
    };
  }
  return {
    ...base,
    offGSchedBp: 96,
    offGSyscallsp: 104,
    offGSyscallpc: 112,
    offGSyscallbp: 120,
    offGGoid: 152,
    offMCurg: 184,
    offMNcgo: minor === 25 ? 320 : 328,
    offMIsextra: minor === 25 ? 273 : 281,
  };
}
