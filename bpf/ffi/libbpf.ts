/**
 * The one `Deno.dlopen` table for libbpf.so.1 (Debian libbpf1 1.1), with the
 * C prototype on each entry. The wrappers below return the raw result: a
 * pointer, or `-errno` (libbpf 1.x returns NULL and sets errno for pointer
 * results, and `-errno` for int results). Meaning, object names and hints are
 * added by `bpf/loader.ts` and `bpf/errors.ts`, never here.
 *
 * libbpf's own log lines (including the verifier log when a load fails) are
 * captured through `libbpf_set_print` into {@linkcode takeLibbpfLog}.
 *
 * @module
 */
import { errno, libc } from "./libc.ts";

const symbols = {
  /** struct bpf_object *bpf_object__open_mem(const void *obj_buf, size_t obj_buf_sz, const struct bpf_object_open_opts *opts); */
  bpf_object__open_mem: {
    parameters: ["buffer", "usize", "pointer"],
    result: "pointer",
  },
  /** struct bpf_object *bpf_object__open_file(const char *path, const struct bpf_object_open_opts *opts); */
  bpf_object__open_file: {
    parameters: ["buffer", "pointer"],
    result: "pointer",
  },
  /** int bpf_object__load(struct bpf_object *obj); */
  bpf_object__load: { parameters: ["pointer"], result: "i32" },
  /** void bpf_object__close(struct bpf_object *obj); */
  bpf_object__close: { parameters: ["pointer"], result: "void" },
  /** struct btf *bpf_object__btf(const struct bpf_object *obj); */
  bpf_object__btf: { parameters: ["pointer"], result: "pointer" },
  /** struct bpf_map *bpf_object__find_map_by_name(const struct bpf_object *obj, const char *name); */
  bpf_object__find_map_by_name: {
    parameters: ["pointer", "buffer"],
    result: "pointer",
  },
  /** struct bpf_program *bpf_object__find_program_by_name(const struct bpf_object *obj, const char *name); */
  bpf_object__find_program_by_name: {
    parameters: ["pointer", "buffer"],
    result: "pointer",
  },
  /** int bpf_map__fd(const struct bpf_map *map); */
  bpf_map__fd: { parameters: ["pointer"], result: "i32" },
  /** int bpf_map__set_max_entries(struct bpf_map *map, __u32 max_entries); */
  bpf_map__set_max_entries: { parameters: ["pointer", "u32"], result: "i32" },
  /** __u32 bpf_map__max_entries(const struct bpf_map *map); */
  bpf_map__max_entries: { parameters: ["pointer"], result: "u32" },
  /** __u32 bpf_map__value_size(const struct bpf_map *map); */
  bpf_map__value_size: { parameters: ["pointer"], result: "u32" },
  /** void *bpf_map__initial_value(struct bpf_map *map, size_t *psize); */
  bpf_map__initial_value: {
    parameters: ["pointer", "buffer"],
    result: "pointer",
  },
  /** int bpf_map__set_initial_value(struct bpf_map *map, const void *data, size_t size); */
  bpf_map__set_initial_value: {
    parameters: ["pointer", "buffer", "usize"],
    result: "i32",
  },
  /** int bpf_program__fd(const struct bpf_program *prog); */
  bpf_program__fd: { parameters: ["pointer"], result: "i32" },
  /** struct bpf_link *bpf_program__attach_perf_event(const struct bpf_program *prog, int pfd); */
  bpf_program__attach_perf_event: {
    parameters: ["pointer", "i32"],
    result: "pointer",
  },
  /** int bpf_link__destroy(struct bpf_link *link); */
  bpf_link__destroy: { parameters: ["pointer"], result: "i32" },
  /** __s32 btf__find_by_name_kind(const struct btf *btf, const char *type_name, __u32 kind); */
  btf__find_by_name_kind: {
    parameters: ["pointer", "buffer", "u32"],
    result: "i32",
  },
  /** const struct btf_type *btf__type_by_id(const struct btf *btf, __u32 id); */
  btf__type_by_id: { parameters: ["pointer", "u32"], result: "pointer" },
  /** const char *btf__name_by_offset(const struct btf *btf, __u32 offset); */
  btf__name_by_offset: { parameters: ["pointer", "u32"], result: "pointer" },
  /** int bpf_map_update_elem(int fd, const void *key, const void *value, __u64 flags); */
  bpf_map_update_elem: {
    parameters: ["i32", "buffer", "buffer", "u64"],
    result: "i32",
  },
  /** int bpf_map_lookup_elem(int fd, const void *key, void *value); */
  bpf_map_lookup_elem: {
    parameters: ["i32", "buffer", "buffer"],
    result: "i32",
  },
  /** int bpf_map_delete_elem(int fd, const void *key); */
  bpf_map_delete_elem: { parameters: ["i32", "buffer"], result: "i32" },
  /** int libbpf_num_possible_cpus(void); */
  libbpf_num_possible_cpus: { parameters: [], result: "i32" },
  /** struct ring_buffer *ring_buffer__new(int map_fd, ring_buffer_sample_fn sample_cb, void *ctx, const struct ring_buffer_opts *opts); */
  ring_buffer__new: {
    parameters: ["i32", "function", "pointer", "pointer"],
    result: "pointer",
  },
  /** int ring_buffer__consume(struct ring_buffer *rb); */
  ring_buffer__consume: { parameters: ["pointer"], result: "i32" },
  /** void ring_buffer__free(struct ring_buffer *rb); */
  ring_buffer__free: { parameters: ["pointer"], result: "void" },
  /** libbpf_print_fn_t libbpf_set_print(libbpf_print_fn_t fn); */
  libbpf_set_print: { parameters: ["function"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The bound libbpf functions. */
export type LibbpfSymbols = Deno.DynamicLibrary<typeof symbols>["symbols"];

/** Type of ring_buffer_sample_fn: int (*)(void *ctx, void *data, size_t size). */
export const RING_SAMPLE_FN = {
  parameters: ["pointer", "pointer", "usize"],
  result: "i32",
} as const satisfies Deno.UnsafeCallbackDefinition;

const PRINT_FN = {
  parameters: ["i32", "pointer", "pointer"],
  result: "i32",
} as const satisfies Deno.UnsafeCallbackDefinition;

let lib: Deno.DynamicLibrary<typeof symbols> | undefined;
let printCallback: Deno.UnsafeCallback<typeof PRINT_FN> | undefined;
const LOG_LIMIT = 64 * 1024;
let log = "";
const logLine = new Uint8Array(4096);
const utf8 = new TextDecoder();

/**
 * Returns the libbpf symbol table, opening libbpf.so.1 and installing the log
 * capture on first use.
 *
 * @returns The bound libbpf functions.
 * @throws {Error} when libbpf.so.1 cannot be opened (package libbpf1 missing).
 */
export function libbpf(): LibbpfSymbols {
  if (lib === undefined) {
    lib = Deno.dlopen("libbpf.so.1", symbols);
    // libbpf hands its format and va_list through; vsnprintf renders them
    // (x86-64 va_list is passed as a pointer, so it crosses FFI unchanged).
    printCallback = new Deno.UnsafeCallback(PRINT_FN, (_level, fmt, ap) => {
      const n = libc().vsnprintf(logLine, BigInt(logLine.length), fmt, ap);
      if (n > 0 && log.length < LOG_LIMIT) {
        log += utf8.decode(
          logLine.subarray(0, Math.min(n, logLine.length - 1)),
        );
      }
      return 0;
    });
    lib.symbols.libbpf_set_print(printCallback.pointer);
  }
  return lib.symbols;
}

/**
 * Returns and clears what libbpf printed since the last call (warnings and
 * the verifier log of a failed load).
 *
 * @returns The captured text, possibly empty.
 */
export function takeLibbpfLog(): string {
  const out = log;
  log = "";
  return out;
}

/**
 * NUL-terminated C string for a `buffer` parameter.
 *
 * @param s Text without NUL bytes.
 * @returns UTF-8 bytes plus a trailing NUL.
 */
export function cstr(s: string): Uint8Array {
  return new TextEncoder().encode(s + "\0");
}

/**
 * Converts a pointer result of libbpf 1.x to pointer-or-`-errno`.
 *
 * @param p The returned pointer.
 * @returns `p`, or `-errno` when it is NULL.
 */
export function ptrOrErrno(p: Deno.PointerValue): Deno.PointerObject | number {
  if (p === null) return -(errno() || 22);
  return p;
}
