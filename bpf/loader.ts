/**
 * Loading a BPF ELF object through libbpf: open (from a file or bytes), set
 * read-only config, resize maps, load, attach to perf events, and the map
 * operations the sampler needs. Every failure is a {@linkcode BpfError} that
 * names the object, program or map, explains the errno and carries libbpf's
 * log. Everything is released by `close()` / `using`.
 *
 * Glossary: rodata = the object's `.rodata` section, where
 * `const volatile` globals live; libbpf loads it as a frozen array map, so
 * values written before load are constants the verifier can use.
 *
 * @module
 */
import { BpfError } from "./errors.ts";
import { cstr, libbpf, ptrOrErrno, takeLibbpfLog } from "./ffi/libbpf.ts";
import { withSignalsBlocked } from "./ffi/libc.ts";

const BTF_KIND_VAR = 14;
const BTF_KIND_DATASEC = 15;

/**
 * A map of a loaded {@linkcode BpfObject}. Keys and values are raw bytes in
 * the kernel's layout (little-endian on x86-64).
 */
export class BpfMap {
  /** The map's name in the object. */
  readonly name: string;
  /** The map's file descriptor (owned by the object). */
  readonly fd: number;
  /** Value size in bytes as the map was created. */
  readonly valueSize: number;

  /**
   * Wraps a map descriptor owned by a loaded object.
   *
   * @param name Map name.
   * @param fd Its descriptor.
   * @param valueSize Value size in bytes.
   */
  constructor(name: string, fd: number, valueSize: number) {
    this.name = name;
    this.fd = fd;
    this.valueSize = valueSize;
  }

  /**
   * Creates or replaces an element.
   *
   * @param key Key bytes.
   * @param value Value bytes (`valueSize`, or per-CPU size × CPUs).
   * @throws {BpfError} e.g. E2BIG when the map is full.
   */
  update(key: Uint8Array, value: Uint8Array): void {
    const rc = libbpf().bpf_map_update_elem(this.fd, key, value, 0n);
    if (rc < 0) throw new BpfError("update map", this.name, rc);
  }

  /**
   * Reads an element into `out`.
   *
   * @param key Key bytes.
   * @param out Receives the value; must be large enough.
   * @returns False when the key is absent.
   * @throws {BpfError} on other errors.
   */
  lookup(key: Uint8Array, out: Uint8Array): boolean {
    const rc = libbpf().bpf_map_lookup_elem(this.fd, key, out);
    if (rc === -2) return false;
    if (rc < 0) throw new BpfError("look up map", this.name, rc);
    return true;
  }

  /**
   * Deletes an element.
   *
   * @param key Key bytes.
   * @returns False when the key was absent.
   * @throws {BpfError} on other errors.
   */
  delete(key: Uint8Array): boolean {
    const rc = libbpf().bpf_map_delete_elem(this.fd, key);
    if (rc === -2) return false;
    if (rc < 0) throw new BpfError("delete from map", this.name, rc);
    return true;
  }
}

/**
 * A BPF ELF object opened through libbpf, before and after load.
 *
 * @example Open, configure, load (needs root)
 * ```ts ignore
 * import { BpfObject } from "./loader.ts";
 * using obj = BpfObject.openFile("bpf/profiler.bpf.o");
 * obj.setRodata("ustack_max", 8192);
 * obj.load();
 * console.log(obj.map("counters").fd);
 * ```
 */
export class BpfObject implements Disposable {
  /** Path or caller-given name, used in every error message. */
  readonly name: string;
  #obj: Deno.PointerObject | null;
  #loaded = false;
  #links: Deno.PointerObject[] = [];
  #maps = new Map<string, BpfMap>();

  private constructor(obj: Deno.PointerObject, name: string) {
    this.#obj = obj;
    this.name = name;
  }

  /**
   * Opens an object file (parses it; nothing reaches the kernel yet).
   *
   * @param path Path of a BPF ELF object.
   * @returns The opened object.
   * @throws {BpfError} naming the path (ENOENT when missing, EINVAL when not BPF ELF).
   */
  static openFile(path: string): BpfObject {
    takeLibbpfLog();
    const p = ptrOrErrno(libbpf().bpf_object__open_file(cstr(path), null));
    if (typeof p === "number") {
      throw new BpfError("open", path, p, { log: takeLibbpfLog() });
    }
    return new BpfObject(p, path);
  }

  /**
   * Opens an object from bytes (libbpf copies them).
   *
   * @param bytes A BPF ELF object.
   * @param name Name for error messages.
   * @returns The opened object.
   * @throws {BpfError} naming `name` when the bytes are not a BPF object.
   */
  static openBytes(bytes: Uint8Array, name = "<bytes>"): BpfObject {
    takeLibbpfLog();
    const p = ptrOrErrno(
      libbpf().bpf_object__open_mem(bytes, BigInt(bytes.length), null),
    );
    if (typeof p === "number") {
      throw new BpfError("open", name, p, { log: takeLibbpfLog() });
    }
    return new BpfObject(p, name);
  }

  #ptr(): Deno.PointerObject {
    if (this.#obj === null) {
      throw new BpfError("use", this.name, 9, { detail: "object is closed" });
    }
    return this.#obj;
  }

  #mapPtr(name: string): Deno.PointerObject {
    const p = libbpf().bpf_object__find_map_by_name(this.#ptr(), cstr(name));
    if (p === null) {
      throw new BpfError("find map", `${this.name}: ${name}`, 2, {
        detail: "no map of that name in the object",
      });
    }
    return p;
  }

  /**
   * Sets a `const volatile` global in `.rodata` before load.
   *
   * @param name The variable's name in the C source.
   * @param value Its new value (unsigned, little-endian, the variable's size).
   * @throws {BpfError} when loaded already or the variable does not exist.
   */
  setRodata(name: string, value: number | bigint): void {
    if (this.#loaded) {
      throw new BpfError("set rodata", `${this.name}: ${name}`, 22, {
        detail: "the object is loaded already",
      });
    }
    const lb = libbpf();
    const map = this.#mapPtr(".rodata");
    const { offset, size } = this.#rodataVar(name);
    const sizeBuf = new BigUint64Array(1);
    const init = lb.bpf_map__initial_value(map, new Uint8Array(sizeBuf.buffer));
    if (init === null) {
      throw new BpfError("set rodata", `${this.name}: ${name}`, 2);
    }
    const total = Number(sizeBuf[0]);
    const copy = new Uint8Array(
      Deno.UnsafePointerView.getArrayBuffer(init, total).slice(0),
    );
    const v = new DataView(copy.buffer);
    if (size === 8) v.setBigUint64(offset, BigInt(value), true);
    else if (size === 4) v.setUint32(offset, Number(value), true);
    else if (size === 2) v.setUint16(offset, Number(value), true);
    else if (size === 1) v.setUint8(offset, Number(value));
    else throw new BpfError("set rodata", `${this.name}: ${name}`, 22);
    const rc = lb.bpf_map__set_initial_value(map, copy, BigInt(total));
    if (rc < 0) throw new BpfError("set rodata", `${this.name}: ${name}`, rc);
  }

  /** Finds a variable's offset and size in the .rodata DATASEC of the BTF. */
  #rodataVar(name: string): { offset: number; size: number } {
    const lb = libbpf();
    const btf = lb.bpf_object__btf(this.#ptr());
    const what = `${this.name}: ${name}`;
    if (btf === null) {
      throw new BpfError("set rodata", what, 2, {
        detail: "object has no BTF",
      });
    }
    const id = lb.btf__find_by_name_kind(
      btf,
      cstr(".rodata"),
      BTF_KIND_DATASEC,
    );
    if (id < 0) {
      throw new BpfError("set rodata", what, id, {
        detail: "object has no .rodata",
      });
    }
    const sec = lb.btf__type_by_id(btf, id);
    if (sec === null) throw new BpfError("set rodata", what, 2);
    const sv = new Deno.UnsafePointerView(sec);
    const vlen = sv.getUint32(4) & 0xffff;
    for (let i = 0; i < vlen; i++) {
      const at = 12 + i * 12; // struct btf_var_secinfo { type, offset, size }
      const type = sv.getUint32(at);
      const t = lb.btf__type_by_id(btf, type);
      if (t === null) continue;
      const tv = new Deno.UnsafePointerView(t);
      if (((tv.getUint32(4) >>> 24) & 0x1f) !== BTF_KIND_VAR) continue;
      const np = lb.btf__name_by_offset(btf, tv.getUint32(0));
      if (np !== null && Deno.UnsafePointerView.getCString(np) === name) {
        return { offset: sv.getUint32(at + 4), size: sv.getUint32(at + 8) };
      }
    }
    throw new BpfError("set rodata", what, 2, {
      detail: "no such variable in .rodata",
    });
  }

  /**
   * Changes a map's max_entries before load (ring buffer size, per-CPU slots).
   *
   * @param name Map name.
   * @param maxEntries New size.
   * @throws {BpfError} when the map is missing or the object is loaded.
   */
  resizeMap(name: string, maxEntries: number): void {
    const rc = libbpf().bpf_map__set_max_entries(
      this.#mapPtr(name),
      maxEntries,
    );
    if (rc < 0) throw new BpfError("resize map", `${this.name}: ${name}`, rc);
  }

  /**
   * Creates the maps and loads the programs into the kernel.
   *
   * @throws {BpfError} with the verifier log on rejection, EPERM without
   * privileges, ENOENT without kernel BTF.
   */
  load(): void {
    takeLibbpfLog();
    const ptr = this.#ptr();
    const rc = withSignalsBlocked(() => libbpf().bpf_object__load(ptr));
    if (rc < 0) {
      const log = takeLibbpfLog();
      const e = Math.abs(rc);
      let detail: string | undefined;
      if (e === 2 && /btf|BTF/.test(log)) {
        detail =
          "kernel BTF missing (/sys/kernel/btf/vmlinux; needs CONFIG_DEBUG_INFO_BTF)";
      }
      throw new BpfError(
        "load",
        this.name,
        rc,
        detail ? { log, detail } : { log },
      );
    }
    this.#loaded = true;
  }

  /**
   * A map of the loaded object.
   *
   * @param name Map name.
   * @returns The map (cached).
   * @throws {BpfError} when it does not exist or the object is not loaded.
   */
  map(name: string): BpfMap {
    let m = this.#maps.get(name);
    if (m) return m;
    const p = this.#mapPtr(name);
    const fd = libbpf().bpf_map__fd(p);
    if (fd < 0) {
      throw new BpfError("get map fd", `${this.name}: ${name}`, fd, {
        detail: "object not loaded",
      });
    }
    m = new BpfMap(name, fd, libbpf().bpf_map__value_size(p));
    this.#maps.set(name, m);
    return m;
  }

  /**
   * Attaches a loaded program to each perf event; the links live until
   * {@linkcode BpfObject.close}.
   *
   * @param program Program name (the C function name).
   * @param perfFds Perf event descriptors.
   * @throws {BpfError} naming the program.
   */
  attachPerfEvents(program: string, perfFds: readonly number[]): void {
    const lb = libbpf();
    const prog = lb.bpf_object__find_program_by_name(
      this.#ptr(),
      cstr(program),
    );
    if (prog === null) {
      throw new BpfError("find program", `${this.name}: ${program}`, 2, {
        detail: "no program of that name in the object",
      });
    }
    for (const fd of perfFds) {
      takeLibbpfLog();
      const link = ptrOrErrno(lb.bpf_program__attach_perf_event(prog, fd));
      if (typeof link === "number") {
        throw new BpfError("attach", `${this.name}: ${program}`, link, {
          log: takeLibbpfLog(),
        });
      }
      this.#links.push(link);
    }
  }

  /**
   * Reads a per-CPU array element summed over all possible CPUs, for u64
   * counters.
   *
   * @param name Map name (a PERCPU_ARRAY of u64).
   * @param slots Number of slots to read (0 .. slots-1).
   * @returns One sum per slot.
   * @throws {BpfError} on lookup errors.
   */
  perCpuCounters(name: string, slots: number): number[] {
    const m = this.map(name);
    const cpus = possibleCpus();
    const out = new Array<number>(slots).fill(0);
    const key = new Uint32Array(1);
    const values = new BigUint64Array(cpus);
    for (let i = 0; i < slots; i++) {
      key[0] = i;
      if (
        !m.lookup(new Uint8Array(key.buffer), new Uint8Array(values.buffer))
      ) continue;
      let s = 0n;
      for (const v of values) s += v;
      out[i] = Number(s);
    }
    return out;
  }

  /** Detaches every link and closes the object (maps and programs). */
  close(): void {
    const lb = libbpf();
    for (const l of this.#links.splice(0)) lb.bpf_link__destroy(l);
    if (this.#obj !== null) lb.bpf_object__close(this.#obj);
    this.#obj = null;
    this.#maps.clear();
  }

  /** Same as {@linkcode BpfObject.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Number of possible CPUs (sizes of per-CPU values and per-CPU slots).
 *
 * @returns libbpf_num_possible_cpus().
 * @throws {BpfError} when it cannot be determined.
 */
export function possibleCpus(): number {
  const n = libbpf().libbpf_num_possible_cpus();
  if (n <= 0) {
    throw new BpfError("count CPUs", "/sys/devices/system/cpu/possible", n);
  }
  return n;
}
