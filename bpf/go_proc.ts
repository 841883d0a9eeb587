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
  /** m.vdsoSP; 0 = unknown: m.vdsoSP/vdsoPC are not read. */
  offMVdsoSp: number;
  /** m.vdsoPC */
  offMVdsoPc: number;
}

/** sizeof(struct dp_go_proc). */
export const GO_PROC_SIZE = 72;

/**
 * Encodes a config in the kernel's layout (little-endian).
 *
 * @param cfg The offsets.
 * @returns 72 bytes for the `go_procs` map value.
 *
 * @example Encode
 * ```ts
 * import { encodeGoProc, GO_PROC_SIZE } from "./go_proc.ts";
 * const b = encodeGoProc({
 *   tlsGOffset: -8, offGM: 48, offGSchedSp: 56, offGSchedPc: 64, offGSchedBp: 96,
 *   offGSyscallsp: 104, offGSyscallpc: 112, offGSyscallbp: 120, offGGoid: 152,
 *   offGLabels: 352, offMG0: 0, offMCurg: 184, offMNcgo: 328, offMIsextra: 281,
 *   offMVdsoSp: 896, offMVdsoPc: 904,
 * });
 * console.assert(b.length === GO_PROC_SIZE);
 * console.assert(b.length === 72);
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
  v.setUint32(64, cfg.offMVdsoSp, true);
  v.setUint32(68, cfg.offMVdsoPc, true);
  return out;
}
