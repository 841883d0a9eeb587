/**
 * The one `Deno.dlopen` table for the few libc entry points deno-bpf needs
 * that libbpf does not wrap: perf_event_open(2) through `syscall`, mmap for
 * the ring buffer, sysconf, close, and errno. Wrappers return raw results
 * (`-errno` for failures); meaning is added by `bpf/errors.ts`.
 *
 * Glossary: errno is thread-local; it is read right after the failing call,
 * before any other FFI call can overwrite it.
 *
 * @module
 */

/** x86-64 syscall number of perf_event_open(2). */
export const SYS_PERF_EVENT_OPEN = 298;

/** PROT_* and MAP_* values of mmap(2) (Linux, all architectures here). */
export const PROT_READ = 1;
/** Pages may be written. */
export const PROT_WRITE = 2;
/** Writes are visible to other mappings of the same object. */
export const MAP_SHARED = 1;
/** `sysconf` name of the page size. */
export const SC_PAGESIZE = 30;

const symbols = {
  /** long syscall(long number, struct perf_event_attr *attr, pid_t pid, int cpu, int group_fd, unsigned long flags); */
  perf_event_open: {
    name: "syscall",
    parameters: ["i64", "buffer", "i32", "i32", "i32", "u64"],
    result: "i64",
  },
  /** void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset); */
  mmap: {
    parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"],
    result: "pointer",
  },
  /** int munmap(void *addr, size_t length); */
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  /** long sysconf(int name); */
  sysconf: { parameters: ["i32"], result: "i64" },
  /** int close(int fd); */
  close: { parameters: ["i32"], result: "i32" },
  /** int *__errno_location(void); */
  __errno_location: { parameters: [], result: "pointer" },
  /** int vsnprintf(char *str, size_t size, const char *format, va_list ap); */
  vsnprintf: {
    parameters: ["buffer", "usize", "pointer", "pointer"],
    result: "i32",
  },
  /** uid_t geteuid(void); */
  geteuid: { parameters: [], result: "u32" },
  /** int pthread_sigmask(int how, const sigset_t *set, sigset_t *oldset); */
  pthread_sigmask: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** `pthread_sigmask` how: add the set to the mask. */
export const SIG_BLOCK = 0;
/** `pthread_sigmask` how: replace the mask. */
export const SIG_SETMASK = 2;
/** sizeof(sigset_t) in glibc. */
export const SIGSET_BYTES = 128;

/**
 * Runs `fn` with every blockable signal blocked on the calling thread. The
 * BPF verifier gives up with EAGAIN when a signal is pending while it works,
 * and a Deno process gets signals it did not ask for (V8's sampling profiler
 * sends SIGPROF every millisecond under `--cpu-prof`).
 *
 * @param fn Work to protect.
 * @returns What `fn` returns.
 */
export function withSignalsBlocked<T>(fn: () => T): T {
  const all = new Uint8Array(SIGSET_BYTES).fill(0xff);
  const old = new Uint8Array(SIGSET_BYTES);
  const blocked = libc().pthread_sigmask(SIG_BLOCK, all, old) === 0;
  try {
    return fn();
  } finally {
    if (blocked) {
      libc().pthread_sigmask(SIG_SETMASK, old, new Uint8Array(SIGSET_BYTES));
    }
  }
}

let lib: Deno.DynamicLibrary<typeof symbols> | undefined;

/**
 * Returns the libc symbol table, opening libc.so.6 on first use.
 *
 * @returns The bound libc functions.
 * @throws {Deno.errors.NotCapable} without `--allow-ffi`.
 */
export function libc(): Deno.DynamicLibrary<typeof symbols>["symbols"] {
  lib ??= Deno.dlopen("libc.so.6", symbols);
  return lib.symbols;
}

/**
 * Reads the calling thread's errno. Call it right after the failing call.
 *
 * @returns The current errno value (positive).
 */
export function errno(): number {
  const p = libc().__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32(0);
}

/** MAP_FAILED as a pointer address. */
const MAP_FAILED = 0xffffffffffffffffn;

/**
 * mmap(2) of a file descriptor.
 *
 * @param length Bytes to map.
 * @param prot PROT_* bits.
 * @param fd File descriptor (a BPF map).
 * @param offset Offset in the file, a multiple of the page size.
 * @returns The mapping, or `-errno`.
 */
export function mmapFd(
  length: number,
  prot: number,
  fd: number,
  offset: number,
): Deno.PointerObject | number {
  const p = libc().mmap(
    null,
    BigInt(length),
    prot,
    MAP_SHARED,
    fd,
    BigInt(offset),
  );
  if (p === null || Deno.UnsafePointer.value(p) === MAP_FAILED) return -errno();
  return p;
}

/**
 * munmap(2).
 *
 * @param p Start of a mapping from {@linkcode mmapFd}.
 * @param length Its length.
 * @returns 0 or `-errno`.
 */
export function munmap(p: Deno.PointerObject, length: number): number {
  return libc().munmap(p, BigInt(length)) === 0 ? 0 : -errno();
}

/**
 * The system page size.
 *
 * @returns Bytes per page (4096 on x86-64).
 */
export function pageSize(): number {
  return Number(libc().sysconf(SC_PAGESIZE));
}

/**
 * close(2).
 *
 * @param fd Descriptor to close.
 * @returns 0 or `-errno`.
 */
export function closeFd(fd: number): number {
  return libc().close(fd) === 0 ? 0 : -errno();
}
