/**
 * Readers for a BPF ring buffer map (BPF_MAP_TYPE_RINGBUF), both
 * non-blocking: callers poll on a timer, which suits a sampler that writes
 * with BPF_RB_NO_WAKEUP.
 *
 * - {@linkcode RingReader} maps the ring itself and hands out zero-copy views
 *   of the records in place. Faster; the default.
 * - {@linkcode LibbpfRingReader} drives libbpf's `ring_buffer__consume` with
 *   a `Deno.UnsafeCallback`, one foreign ArrayBuffer per record.
 *
 * Layout (kernel/bpf/ringbuf.c): page 0 holds the consumer position (mapped
 * read-write); page 1 the producer position; the data area of `size` bytes
 * follows and is mapped twice in a row (both read-only), so a record that
 * wraps past the end is still contiguous in memory. Each record starts with
 * an 8-byte header `{u32 len; u32 pg_off}`; bit 31 of len = still being
 * written (busy), bit 30 = discarded; records are padded to 8 bytes.
 *
 * @module
 */
import { BpfError } from "./errors.ts";
import { mmapFd, munmap, pageSize, PROT_READ, PROT_WRITE } from "./ffi/libc.ts";
import { libbpf, RING_SAMPLE_FN } from "./ffi/libbpf.ts";

const BUSY_BIT = 0x80000000;
const DISCARD_BIT = 0x40000000;
const HDR = 8;

/**
 * A BPF ring buffer consumer over its own mmap of the ring.
 *
 * Records are views into the shared mapping: they are valid only until
 * {@linkcode RingReader.commit} (or the end of the {@linkcode RingReader.drain}
 * callback) — after that the kernel may overwrite them. Copy what must
 * outlive the batch.
 *
 * @example Drain on a timer (needs a loaded ring buffer map)
 * ```ts ignore
 * import { RingReader } from "./ring_reader.ts";
 * using ring = RingReader.open(mapFd, 4 << 20, "events");
 * setInterval(() => ring.drain((rec) => console.log(rec.length)), 200);
 * ```
 */
export class RingReader implements Disposable {
  /** Map name, for errors. */
  readonly name: string;
  /** Size of the data area in bytes (the map's max_entries). */
  readonly size: number;
  #mask: number;
  #page: number;
  #consumerMap: Deno.PointerObject | null;
  #producerMap: Deno.PointerObject | null;
  #consumer: BigUint64Array;
  #producer: BigUint64Array;
  #data: Uint8Array;
  #hdr: Uint32Array;
  #pos = 0; // consumer position while a batch is open
  #end = 0; // producer position seen at batch start

  private constructor(
    name: string,
    size: number,
    page: number,
    maps: [Deno.PointerObject, Deno.PointerObject] | undefined,
    memory: [ArrayBuffer, ArrayBuffer],
  ) {
    this.name = name;
    this.size = size;
    this.#mask = size - 1;
    this.#page = page;
    this.#consumerMap = maps?.[0] ?? null;
    this.#producerMap = maps?.[1] ?? null;
    this.#consumer = new BigUint64Array(memory[0], 0, 1);
    const prod = memory[1];
    this.#producer = new BigUint64Array(prod, 0, 1);
    this.#data = new Uint8Array(prod, page, 2 * size);
    this.#hdr = new Uint32Array(prod, page, (2 * size) / 4);
    this.#pos = Number(Atomics.load(this.#consumer, 0));
  }

  /**
   * Maps a ring buffer map.
   *
   * @param mapFd Descriptor of the BPF_MAP_TYPE_RINGBUF map.
   * @param size Its max_entries (data size, power of two).
   * @param name Map name for errors.
   * @returns The reader.
   * @throws {BpfError} when a mapping fails.
   */
  static open(mapFd: number, size: number, name = "ringbuf"): RingReader {
    const page = pageSize();
    const cons = mmapFd(page, PROT_READ | PROT_WRITE, mapFd, 0);
    if (typeof cons === "number") {
      throw new BpfError("mmap consumer page of", name, cons);
    }
    const prod = mmapFd(page + 2 * size, PROT_READ, mapFd, page);
    if (typeof prod === "number") {
      munmap(cons, page);
      throw new BpfError("mmap data pages of", name, prod);
    }
    return new RingReader(name, size, page, [cons, prod], [
      Deno.UnsafePointerView.getArrayBuffer(cons, 8),
      Deno.UnsafePointerView.getArrayBuffer(prod, page + 2 * size),
    ]);
  }

  /**
   * A reader over plain memory laid out like the mapped ring, for testing
   * the cursor logic without a kernel. The caller must mirror writes into
   * both copies of the data area, as the kernel's double mapping does.
   *
   * @param consumer At least 8 bytes: the consumer position.
   * @param producer `page + 2 * size` bytes: producer position, then data twice.
   * @param size Data size (power of two).
   * @param page Offset of the data in `producer`.
   * @returns A reader that never unmaps anything.
   */
  static fromMemory(
    consumer: ArrayBuffer,
    producer: ArrayBuffer,
    size: number,
    page = 4096,
  ): RingReader {
    return new RingReader("memory", size, page, undefined, [
      consumer,
      producer,
    ]);
  }

  /**
   * Returns the next complete record of the current batch, opening a batch
   * (one read of the producer position) when none is open.
   *
   * @returns A view valid until {@linkcode RingReader.commit}, or `undefined`
   * when the batch has no more complete records.
   */
  next(): Uint8Array | undefined {
    if (this.#pos === this.#end) {
      this.#end = Number(Atomics.load(this.#producer, 0));
    }
    while (this.#pos < this.#end) {
      const off = this.#pos & this.#mask;
      const len = Atomics.load(this.#hdr, off >>> 2);
      if (len & BUSY_BIT) return undefined; // producer not done: stop here
      const n = len & ~(BUSY_BIT | DISCARD_BIT);
      this.#pos += (n + HDR + 7) & ~7;
      if (len & DISCARD_BIT) continue;
      return this.#data.subarray(off + HDR, off + HDR + n);
    }
    return undefined;
  }

  /**
   * Releases every record handed out so far to the kernel. Views from
   * {@linkcode RingReader.next} become invalid.
   */
  commit(): void {
    Atomics.store(this.#consumer, 0, BigInt(this.#pos));
    this.#end = this.#pos;
  }

  /**
   * Consumes every record available now.
   *
   * @param onRecord Called per record; the view is valid only during the call.
   * @param max Stop after this many records (bounds one timer tick).
   * @returns Number of records delivered.
   */
  drain(onRecord: (bytes: Uint8Array) => void, max = Infinity): number {
    let count = 0;
    try {
      for (let rec = this.next(); rec !== undefined; rec = this.next()) {
        onRecord(rec);
        if (++count >= max) break;
        // Release space every 1024 records so the producer never waits on us.
        if ((count & 1023) === 0) this.commit();
      }
    } finally {
      this.commit();
    }
    return count;
  }

  /** Bytes written by the producer and not yet consumed. */
  get pending(): number {
    return Number(Atomics.load(this.#producer, 0)) -
      Number(Atomics.load(this.#consumer, 0));
  }

  /** Unmaps the ring; safe to call twice. */
  close(): void {
    if (this.#consumerMap) munmap(this.#consumerMap, this.#page);
    if (this.#producerMap) {
      munmap(this.#producerMap, this.#page + 2 * this.size);
    }
    this.#consumerMap = this.#producerMap = null;
  }

  /** Same as {@linkcode RingReader.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * A BPF ring buffer consumer driven by libbpf (`ring_buffer__new` +
 * `ring_buffer__consume`). Kept as the comparison point for
 * {@linkcode RingReader}; records are valid only during the callback.
 */
export class LibbpfRingReader implements Disposable {
  /** Map name, for errors. */
  readonly name: string;
  #rb: Deno.PointerObject | null;
  #cb: Deno.UnsafeCallback<typeof RING_SAMPLE_FN>;
  #sink: ((bytes: Uint8Array) => void) | undefined;

  /**
   * Sets up libbpf's ring_buffer over a ring buffer map.
   *
   * @param mapFd Descriptor of the ring buffer map.
   * @param name Map name for errors.
   * @throws {BpfError} when libbpf cannot set up the ring.
   */
  constructor(mapFd: number, name = "ringbuf") {
    this.name = name;
    this.#cb = new Deno.UnsafeCallback(RING_SAMPLE_FN, (_ctx, data, size) => {
      if (data !== null && this.#sink) {
        const n = Number(size);
        this.#sink(
          new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(data, n)),
        );
      }
      return 0;
    });
    const rb = libbpf().ring_buffer__new(mapFd, this.#cb.pointer, null, null);
    if (rb === null) {
      this.#cb.close();
      throw new BpfError("create libbpf ring_buffer for", name, 22);
    }
    this.#rb = rb;
  }

  /**
   * Consumes every record available now.
   *
   * @param onRecord Called per record; the view is valid only during the call.
   * @returns Number of records.
   * @throws {BpfError} when libbpf reports an error.
   */
  drain(onRecord: (bytes: Uint8Array) => void): number {
    if (this.#rb === null) return 0;
    this.#sink = onRecord;
    try {
      const n = libbpf().ring_buffer__consume(this.#rb);
      if (n < 0) throw new BpfError("consume ring buffer", this.name, n);
      return n;
    } finally {
      this.#sink = undefined;
    }
  }

  /** Frees the libbpf ring and the callback; safe to call twice. */
  close(): void {
    if (this.#rb !== null) {
      libbpf().ring_buffer__free(this.#rb);
      this.#rb = null;
      this.#cb.close();
    }
  }

  /** Same as {@linkcode LibbpfRingReader.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
