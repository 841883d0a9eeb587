/**
 * Named offsets of `struct dp_record` and friends, mirroring bpf/profiler.h
 * field by field (layout_test.ts checks them against the C compiler).
 * Change both together and bump {@linkcode RECORD_VERSION}.
 *
 * @module
 */

/** DP_RECORD_VERSION: the version the BPF program writes. */
export const RECORD_VERSION = 2;
/** sizeof(struct dp_record): the fixed header before the three byte runs. */
export const RECORD_HEADER_SIZE = 256;
/**
 * Version 1 (recordings made before m.vdsoSP/vdsoPC were read): the same
 * header up to `go_labels`, 240 bytes. The decoder accepts both.
 */
export const RECORD_V1_VERSION = 1;
/** Header size of version 1 records. */
export const RECORD_V1_HEADER_SIZE = 240;
/** DP_COMM_LEN */
export const COMM_LEN = 16;
/** DP_KSTACK_MAX_DEPTH: kernel frames at most. */
export const KSTACK_MAX_DEPTH = 127;
/** DP_NREGS */
export const NREGS = 4;

/** regs[] slots (DP_REG_*). amd64: ip, sp, bp, 0; arm64: pc, sp, fp, lr. */
export const Reg = { PC: 0, SP: 1, FP: 2, LR: 3 } as const;

/** Record flags (DP_F_*). */
export const Flag = {
  /** regs[] hold the task's user registers. */
  USER_REGS: 1 << 0,
  /** The sample interrupted kernel code. */
  KERNEL_MODE: 1 << 1,
  /** The Go block was filled (pid marked as Go). */
  GO: 1 << 2,
  /** Reading g/m/curg faulted; the Go block is partial. */
  GO_G_ERR: 1 << 3,
  /** The thread was off curg's stack; the goroutine stack was copied. */
  GSTACK: 1 << 4,
  /**
   * On curg's stack inside a cgo callback: the gstack run holds the system
   * stack copied from g0.sched.sp (cgocallback's g0 frame) instead.
   */
  SYSSTACK: 1 << 5,
} as const;

/** Byte offsets of struct dp_record fields. */
export const Off = {
  version: 0,
  flags: 2,
  header_size: 4,
  pid: 8,
  tid: 12,
  cpu: 16,
  reserved0: 20,
  ktime_ns: 24,
  comm: 32,
  regs: 48,
  tls_base: 80,
  kstack_len: 88,
  ustack_len: 92,
  ustack_err: 96,
  gstack_len: 100,
  gstack_base: 104,
  go_g: 112,
  go_m: 120,
  go_g0: 128,
  go_curg: 136,
  go_curg_m: 144,
  go_stack_lo: 152,
  go_stack_hi: 160,
  go_sched_pc: 168,
  go_sched_sp: 176,
  go_sched_bp: 184,
  go_syscall_pc: 192,
  go_syscall_sp: 200,
  go_syscall_bp: 208,
  go_goid: 216,
  go_g0_sched_sp: 224,
  go_labels: 232,
  go_vdso_sp: 240,
  go_vdso_pc: 248,
} as const;

/** Byte offsets of struct dp_go_proc fields (the go_procs map value). */
export const GoProcOff = {
  tls_g_offset: 0,
  off_g_m: 8,
  off_g_sched_sp: 12,
  off_g_sched_pc: 16,
  off_g_sched_bp: 20,
  off_g_syscallsp: 24,
  off_g_syscallpc: 28,
  off_g_syscallbp: 32,
  off_g_goid: 36,
  off_g_labels: 40,
  off_m_g0: 44,
  off_m_curg: 48,
  reserved: 52,
  off_m_ncgo: 56,
  off_m_isextra: 60,
  off_m_vdsosp: 64,
  off_m_vdsopc: 68,
} as const;

/** sizeof(struct dp_go_proc). */
export const GO_PROC_SIZE = 72;

/** Names of the `counters` map slots in enum dp_counter order (one list, kept by the sampler). */
export { COUNTER_NAMES } from "../../bpf/sampler.ts";
