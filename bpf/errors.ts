/**
 * {@linkcode BpfError}: a failed kernel/libbpf operation with the object it
 * concerned, the errno and what that errno usually means in that place.
 *
 * @module
 */

/** errno names and numbers (Linux, x86-64 and arm64 share them). */
export const ERRNO: Readonly<Record<number, string>> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  5: "EIO",
  7: "E2BIG",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  16: "EBUSY",
  17: "EEXIST",
  19: "ENODEV",
  22: "EINVAL",
  24: "EMFILE",
  28: "ENOSPC",
  38: "ENOSYS",
  61: "ENODATA",
  95: "EOPNOTSUPP",
  524: "ENOTSUPP",
  // libbpf's own codes (enum libbpf_errno in libbpf.h)
  4000: "LIBBPF_ERRNO__LIBELF",
  4001: "LIBBPF_ERRNO__FORMAT",
  4002: "LIBBPF_ERRNO__KVERSION",
  4003: "LIBBPF_ERRNO__ENDIAN",
  4004: "LIBBPF_ERRNO__INTERNAL",
  4005: "LIBBPF_ERRNO__RELOC",
  4006: "LIBBPF_ERRNO__LOAD",
  4007: "LIBBPF_ERRNO__VERIFY",
  4008: "LIBBPF_ERRNO__PROG2BIG",
  4009: "LIBBPF_ERRNO__KVER",
};

/**
 * The errno's symbolic name.
 *
 * @param errno A positive errno.
 * @returns E.g. `EPERM`, or `errno 99` for unknown values.
 */
export function errnoName(errno: number): string {
  return ERRNO[errno] ?? `errno ${errno}`;
}

function hint(op: string, errno: number): string {
  switch (errno) {
    case 1: // EPERM
    case 13: // EACCES
      return op.startsWith("perf_event_open")
        ? "needs root or CAP_PERFMON, and kernel.perf_event_paranoid must allow it"
        : op === "load" || op === "open"
        ? "needs root or CAP_BPF+CAP_PERFMON (the verifier also reports EACCES for programs it rejects; see the log)"
        : "needs root or CAP_BPF+CAP_PERFMON; check kernel.perf_event_paranoid";
    case 2: // ENOENT
      return op === "load" || op === "open"
        ? "file missing, or kernel BTF missing (/sys/kernel/btf/vmlinux; needs CONFIG_DEBUG_INFO_BTF)"
        : op.startsWith("perf_event_open")
        ? "event not supported on this CPU"
        : "no such entry";
    case 7: // E2BIG
      return "kernel too old for this object or the verifier hit a size limit";
    case 22: // EINVAL
      return op === "open"
        ? "not a valid BPF ELF object"
        : "kernel too old for this feature, or the verifier rejected the program";
    case 12: // ENOMEM
      return "out of memory or memlock limit too low";
    case 16: // EBUSY
      return "resource busy";
    case 19: // ENODEV
      return "CPU offline or event unsupported";
    case 24: // EMFILE
      return "too many open files; raise the fd limit";
    case 38: // ENOSYS
    case 95: // EOPNOTSUPP
    case 524: // ENOTSUPP
      return "not supported by this kernel";
    case 4000:
    case 4001:
    case 4003:
      return "not a valid BPF ELF object";
    case 4005:
      return "relocation failed: CO-RE field missing from the kernel BTF?";
    case 4006:
    case 4007:
      return "the kernel or its verifier rejected the program; see the log";
    case 4008:
      return "program too large for this kernel";
    default:
      return "";
  }
}

/**
 * A failed BPF or perf operation.
 *
 * @example Message shape
 * ```ts
 * import { BpfError } from "./errors.ts";
 * const e = new BpfError("load", "profiler.bpf.o", 1);
 * console.assert(e.message.startsWith('Cannot load "profiler.bpf.o": EPERM'));
 * ```
 */
export class BpfError extends Error {
  /** What was being done: `open`, `load`, `attach`, `perf_event_open cpu 0`, `map update`, ... */
  readonly op: string;
  /** Which object, program or map, by name or path. */
  readonly object: string;
  /** Positive errno, 0 when none applies. */
  readonly errno: number;
  /** What libbpf printed during the operation (verifier log), may be empty. */
  readonly log: string;

  /**
   * Builds the message from the operation, object, errno and its meaning.
   *
   * @param op The operation.
   * @param object The object, program or map it concerned.
   * @param errno Positive or negative errno; the sign is dropped.
   * @param options Captured libbpf log and the cause.
   */
  constructor(
    op: string,
    object: string,
    errno: number,
    options: { log?: string; cause?: unknown; detail?: string } = {},
  ) {
    const e = Math.abs(errno);
    const h = options.detail ?? hint(op, e);
    const logTail = options.log ? tail(options.log) : "";
    super(
      `Cannot ${op} "${object}": ${e ? errnoName(e) : "failed"}${
        h ? `: ${h}` : ""
      }${logTail ? `\nlibbpf log:\n${logTail}` : ""}`,
      { cause: options.cause },
    );
    this.name = "BpfError";
    this.op = op;
    this.object = object;
    this.errno = e;
    this.log = options.log ?? "";
  }
}

/** Last lines of a long verifier log: the reason is at the end. */
function tail(log: string): string {
  const lines = log.trimEnd().split("\n");
  return lines.slice(-25).join("\n");
}
