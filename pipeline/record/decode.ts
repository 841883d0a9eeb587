/**
 * Decodes the sampler's ring buffer records (bpf/profiler.h) into typed
 * samples without copying the stack bytes: `ustack.bytes` and `gstack.bytes`
 * are subarray views of the input, so a sample is only valid as long as its
 * input bytes are (for ring buffer views: until the batch is committed).
 *
 * Address representation: user-space addresses (registers, TLS, Go words)
 * are plain numbers — on x86-64 and arm64 they are below 2^48, exact as
 * doubles. Kernel addresses are ≥ 2^63 and would lose bits as doubles, so the
 * kernel stack is a `BigUint64Array` (exact `bigint` per frame): a view of the
 * input when it is 8-byte aligned (always for ring buffer records), else a
 * copy of at most 1016 bytes.
 *
 * @module
 */
import { BinaryFormatError } from "../binary/errors.ts";
import {
  COMM_LEN,
  Flag,
  KSTACK_MAX_DEPTH,
  Off,
  RECORD_HEADER_SIZE,
  RECORD_V1_HEADER_SIZE,
  RECORD_V1_VERSION,
  RECORD_VERSION,
} from "./layout.ts";

/** The Go block of a sample from a process marked as Go. */
export interface GoBlock {
  /** Reading g/m/curg faulted: the words after the fault are 0. */
  readError: boolean;
  /** g from TLS (0: a thread that never ran Go). */
  g: number;
  /** g.m */
  m: number;
  /** m.g0 */
  g0: number;
  /** m.curg (0: no user goroutine). */
  curg: number;
  /** curg.m, equal to `m` when consistent. */
  curgM: number;
  /** curg.stack.lo */
  stackLo: number;
  /** curg.stack.hi */
  stackHi: number;
  /** curg.sched.pc */
  schedPc: number;
  /** curg.sched.sp */
  schedSp: number;
  /** curg.sched.bp */
  schedBp: number;
  /** curg.syscallpc */
  syscallPc: number;
  /** curg.syscallsp */
  syscallSp: number;
  /** curg.syscallbp (0 before Go 1.23) */
  syscallBp: number;
  /** curg.goid */
  goid: number;
  /** g0.sched.sp */
  g0SchedSp: number;
  /** curg.labels (a pointer), 0 when none or unknown. */
  labels: number;
  /**
   * m.vdsoSP: SP of the vDSO caller's caller frame while the M is in a vDSO
   * call, else 0 (also 0 in version 1 records and when not read).
   */
  vdsoSp: number;
  /** m.vdsoPC: return PC into that caller (meaningful when vdsoSp != 0). */
  vdsoPc: number;
}

/** One decoded record. Byte fields are views into the input. */
export interface RawSample {
  /** DP_F_* bits, see {@linkcode Flag}. */
  flags: number;
  /** Process id (tgid). */
  pid: number;
  /** Thread id. */
  tid: number;
  /** CPU the sample was taken on. */
  cpu: number;
  /** CLOCK_MONOTONIC nanoseconds (exact to 2^53 ns ≈ 104 days of uptime). */
  ktimeNs: number;
  /** Thread name. */
  comm: string;
  /** True when the user registers below are valid. */
  hasUserRegs: boolean;
  /** True when the sample interrupted kernel code. */
  kernelMode: boolean;
  /** User pc (amd64 ip). */
  pc: number;
  /** User sp. */
  sp: number;
  /** User frame pointer (amd64 bp, arm64 x29). */
  fp: number;
  /** arm64 link register; 0 on amd64. */
  lr: number;
  /** amd64 fsbase / arm64 tpidr_el0. */
  tlsBase: number;
  /** Kernel return addresses, innermost first (exact bigints). */
  kstack: BigUint64Array<ArrayBufferLike>;
  /** 0, or the negative errno of bpf_get_stack. */
  kstackErr: number;
  /** The user stack copy from `base` (= sp) upward. */
  ustack: { base: number; bytes: Uint8Array; err: number };
  /**
   * The goroutine stack copy ({@linkcode Flag.GSTACK}), or the system stack
   * from g0.sched.sp for a sample in Go code inside a cgo callback
   * ({@linkcode Flag.SYSSTACK}); empty otherwise.
   */
  gstack: { base: number; bytes: Uint8Array };
  /** The Go block when {@linkcode Flag.GO} is set. */
  go: GoBlock | undefined;
}

const latin1 = new TextDecoder("latin1");
const EMPTY_K: BigUint64Array<ArrayBufferLike> = new BigUint64Array(0);

function fail(msg: string, offset: number): never {
  throw new BinaryFormatError(`Cannot decode sample record: ${msg}`, {
    offset,
    section: "sample record",
  });
}

/** Reads a u64 as a number; exact below 2^53 (user addresses). */
function u64(v: DataView, at: number): number {
  return v.getUint32(at + 4, true) * 0x100000000 + v.getUint32(at, true);
}

/**
 * Decodes one record.
 *
 * @param bytes The record as delivered by the ring buffer (exact length).
 * @returns The sample; byte fields are views into `bytes`.
 * @throws {BinaryFormatError} for a short record, a wrong version or
 * lengths that do not add up to the record's size.
 *
 * @example Decode a drained record
 * ```ts ignore
 * import { decodeRecord } from "./decode.ts";
 * sampler.drain((rec) => console.log(decodeRecord(rec).pid));
 * ```
 */
export function decodeRecord(bytes: Uint8Array): RawSample {
  if (bytes.length < RECORD_V1_HEADER_SIZE) {
    fail(
      `${bytes.length} bytes is shorter than the ${RECORD_V1_HEADER_SIZE}-byte header`,
      0,
    );
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = v.getUint16(Off.version, true);
  if (version !== RECORD_VERSION && version !== RECORD_V1_VERSION) {
    fail(
      `version ${version} is not ${RECORD_V1_VERSION} or ${RECORD_VERSION}`,
      Off.version,
    );
  }
  // Version 1 (older recordings): same fields up to go_labels, no vDSO words.
  const want = version === RECORD_V1_VERSION
    ? RECORD_V1_HEADER_SIZE
    : RECORD_HEADER_SIZE;
  const hdr = v.getUint32(Off.header_size, true);
  if (hdr !== want) {
    fail(
      `header_size ${hdr} is not ${want} (version ${version})`,
      Off.header_size,
    );
  }
  if (bytes.length < hdr) {
    fail(`${bytes.length} bytes is shorter than the ${hdr}-byte header`, 0);
  }
  const kraw = v.getInt32(Off.kstack_len, true);
  const klen = kraw > 0 ? kraw : 0;
  if (klen > KSTACK_MAX_DEPTH * 8 || (klen & 7) !== 0) {
    fail(
      `kstack_len ${kraw} is not a multiple of 8 up to ${KSTACK_MAX_DEPTH * 8}`,
      Off.kstack_len,
    );
  }
  const ulen = v.getUint32(Off.ustack_len, true);
  const glen = v.getUint32(Off.gstack_len, true);
  const total = hdr + klen + ulen + glen;
  if (total !== bytes.length) {
    fail(
      `header ${hdr} + kstack ${klen} + ustack ${ulen} + gstack ${glen} bytes is ${total}, not the record's ${bytes.length}`,
      Off.kstack_len,
    );
  }
  const flags = v.getUint16(Off.flags, true);
  let kstack = EMPTY_K;
  if (klen > 0) {
    const at = bytes.byteOffset + hdr;
    kstack = (at & 7) === 0
      ? new BigUint64Array(bytes.buffer, at, klen / 8)
      : new BigUint64Array(bytes.slice(hdr, hdr + klen).buffer);
  }
  let commEnd = Off.comm;
  while (commEnd < Off.comm + COMM_LEN && bytes[commEnd] !== 0) commEnd++;
  const uStart = hdr + klen;
  const gStart = uStart + ulen;
  const sp = u64(v, Off.regs + 8);
  return {
    flags,
    pid: v.getUint32(Off.pid, true),
    tid: v.getUint32(Off.tid, true),
    cpu: v.getUint32(Off.cpu, true),
    ktimeNs: u64(v, Off.ktime_ns),
    comm: latin1.decode(bytes.subarray(Off.comm, commEnd)),
    hasUserRegs: (flags & Flag.USER_REGS) !== 0,
    kernelMode: (flags & Flag.KERNEL_MODE) !== 0,
    pc: u64(v, Off.regs),
    sp,
    fp: u64(v, Off.regs + 16),
    lr: u64(v, Off.regs + 24),
    tlsBase: u64(v, Off.tls_base),
    kstack,
    kstackErr: kraw < 0 ? kraw : 0,
    ustack: {
      base: sp,
      bytes: bytes.subarray(uStart, gStart),
      err: v.getInt32(Off.ustack_err, true),
    },
    gstack: {
      base: u64(v, Off.gstack_base),
      bytes: bytes.subarray(gStart, gStart + glen),
    },
    go: (flags & Flag.GO) ? decodeGo(v, flags, hdr) : undefined,
  };
}

function decodeGo(v: DataView, flags: number, hdr: number): GoBlock {
  const v2 = hdr >= Off.go_vdso_pc + 8;
  return {
    readError: (flags & Flag.GO_G_ERR) !== 0,
    g: u64(v, Off.go_g),
    m: u64(v, Off.go_m),
    g0: u64(v, Off.go_g0),
    curg: u64(v, Off.go_curg),
    curgM: u64(v, Off.go_curg_m),
    stackLo: u64(v, Off.go_stack_lo),
    stackHi: u64(v, Off.go_stack_hi),
    schedPc: u64(v, Off.go_sched_pc),
    schedSp: u64(v, Off.go_sched_sp),
    schedBp: u64(v, Off.go_sched_bp),
    syscallPc: u64(v, Off.go_syscall_pc),
    syscallSp: u64(v, Off.go_syscall_sp),
    syscallBp: u64(v, Off.go_syscall_bp),
    goid: u64(v, Off.go_goid),
    g0SchedSp: u64(v, Off.go_g0_sched_sp),
    labels: u64(v, Off.go_labels),
    vdsoSp: v2 ? u64(v, Off.go_vdso_sp) : 0,
    vdsoPc: v2 ? u64(v, Off.go_vdso_pc) : 0,
  };
}

/** Result counts of {@linkcode decodeBatch}. */
export interface BatchResult {
  /** Records decoded and passed on. */
  decoded: number;
  /** Records rejected with a {@linkcode BinaryFormatError}. */
  rejected: number;
}

/**
 * Decodes a batch of records, counting (not throwing on) malformed ones.
 *
 * @param records Record byte views, e.g. collected during one drain.
 * @param onSample Receives each decoded sample (valid as long as its bytes).
 * @param onError Receives each rejected record's error (optional).
 * @returns How many were decoded and rejected.
 *
 * @example Count
 * ```ts
 * import { decodeBatch } from "./decode.ts";
 * const r = decodeBatch([new Uint8Array(3)], () => {});
 * console.assert(r.rejected === 1);
 * ```
 */
export function decodeBatch(
  records: Iterable<Uint8Array>,
  onSample: (s: RawSample) => void,
  onError?: (e: BinaryFormatError, bytes: Uint8Array) => void,
): BatchResult {
  const out = { decoded: 0, rejected: 0 };
  for (const rec of records) {
    let s: RawSample;
    try {
      s = decodeRecord(rec);
    } catch (e) {
      if (!(e instanceof BinaryFormatError)) throw e;
      out.rejected++;
      onError?.(e, rec);
      continue;
    }
    out.decoded++;
    onSample(s);
  }
  return out;
}

/**
 * Splits a recorded ring buffer byte stream (ring framing: `u32 len, u32 pad`
 * header, record, padding to 8 bytes; as written by {@linkcode frameRecords})
 * into record views.
 *
 * @param stream The recorded bytes.
 * @returns Views of each record.
 * @throws {BinaryFormatError} when a length runs past the end.
 */
export function splitFramed(stream: Uint8Array): Uint8Array[] {
  const v = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  const out: Uint8Array[] = [];
  let pos = 0;
  while (pos + 8 <= stream.length) {
    const n = v.getUint32(pos, true);
    if (pos + 8 + n > stream.length) {
      throw new BinaryFormatError(
        `Cannot split recorded records: length ${n} runs past the end`,
        {
          offset: pos,
          section: "recorded ring",
        },
      );
    }
    out.push(stream.subarray(pos + 8, pos + 8 + n));
    pos += (8 + n + 7) & ~7;
  }
  return out;
}

/**
 * Frames records the way the ring buffer does, for recordings and fixtures.
 *
 * @param records Record bytes.
 * @returns One buffer: per record `u32 len, u32 0`, the bytes, zero padding to 8.
 */
export function frameRecords(records: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const r of records) size += (8 + r.length + 7) & ~7;
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  let pos = 0;
  for (const r of records) {
    v.setUint32(pos, r.length, true);
    out.set(r, pos + 8);
    pos += (8 + r.length + 7) & ~7;
  }
  return out;
}
