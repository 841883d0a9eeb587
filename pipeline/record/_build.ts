/**
 * Builds records in the kernel's layout for tests and benchmarks.
 *
 * @module
 */
import {
  Off,
  RECORD_HEADER_SIZE,
  RECORD_V1_HEADER_SIZE,
  RECORD_V1_VERSION,
  RECORD_VERSION,
} from "./layout.ts";

/** Fields of a synthetic record; unset fields are 0 / empty. */
export interface RecordSpec {
  version?: number;
  flags?: number;
  pid?: number;
  tid?: number;
  cpu?: number;
  ktimeNs?: bigint;
  comm?: string;
  regs?: readonly bigint[];
  tlsBase?: bigint;
  kstack?: readonly bigint[];
  kstackErr?: number;
  ustack?: Uint8Array;
  ustackErr?: number;
  gstack?: Uint8Array;
  gstackBase?: bigint;
  go?: Partial<Record<keyof typeof Off, bigint>>;
}

/**
 * Builds one record exactly as profiler.bpf.c lays it out.
 *
 * @param spec Field values.
 * @returns The record bytes (8-byte aligned buffer).
 */
export function buildRecord(spec: RecordSpec): Uint8Array {
  const k = spec.kstack ?? [];
  const u = spec.ustack ?? new Uint8Array(0);
  const g = spec.gstack ?? new Uint8Array(0);
  // Version 1 records have the shorter header (no vDSO words).
  const hdr = spec.version === RECORD_V1_VERSION
    ? RECORD_V1_HEADER_SIZE
    : RECORD_HEADER_SIZE;
  const out = new Uint8Array(hdr + k.length * 8 + u.length + g.length);
  const v = new DataView(out.buffer);
  v.setUint16(Off.version, spec.version ?? RECORD_VERSION, true);
  v.setUint16(Off.flags, spec.flags ?? 0, true);
  v.setUint32(Off.header_size, hdr, true);
  v.setUint32(Off.pid, spec.pid ?? 0, true);
  v.setUint32(Off.tid, spec.tid ?? 0, true);
  v.setUint32(Off.cpu, spec.cpu ?? 0, true);
  v.setBigUint64(Off.ktime_ns, spec.ktimeNs ?? 0n, true);
  out.set(new TextEncoder().encode(spec.comm ?? "").subarray(0, 15), Off.comm);
  (spec.regs ?? []).forEach((r, i) =>
    v.setBigUint64(Off.regs + 8 * i, r, true)
  );
  v.setBigUint64(Off.tls_base, spec.tlsBase ?? 0n, true);
  v.setInt32(Off.kstack_len, spec.kstackErr ?? k.length * 8, true);
  v.setUint32(Off.ustack_len, u.length, true);
  v.setInt32(Off.ustack_err, spec.ustackErr ?? 0, true);
  v.setUint32(Off.gstack_len, g.length, true);
  v.setBigUint64(Off.gstack_base, spec.gstackBase ?? 0n, true);
  for (const [name, val] of Object.entries(spec.go ?? {})) {
    const at = Off[name as keyof typeof Off];
    if (at + 8 <= hdr) v.setBigUint64(at, val, true);
  }
  k.forEach((a, i) => v.setBigUint64(hdr + 8 * i, a, true));
  out.set(u, hdr + k.length * 8);
  out.set(g, hdr + k.length * 8 + u.length);
  return out;
}
