/**
 * A {@linkcode ByteSource} over a range of another process's memory, read
 * through `/proc/PID/mem`. Used to parse the vDSO image (which exists only in
 * memory) with the same ELF code as files.
 *
 * @module
 */
import {
  BinaryFormatError,
  type ByteSource,
  readFullyAt,
} from "../binary/mod.ts";

/**
 * Bytes `[start, start + size)` of process `pid`, addressed from 0.
 * Reading needs ptrace-level access to the process (root, or same user with
 * a permissive `ptrace_scope`). Close it (or `using`) to release the descriptor.
 *
 * @example Parse the vDSO of a process
 * ```ts ignore
 * import { parseElf, ProcessMemorySource } from "./mod.ts";
 * using mem = new ProcessMemorySource(pid, vdsoStart, vdsoEnd - vdsoStart);
 * const vdso = parseElf(mem);
 * ```
 */
export class ProcessMemorySource implements ByteSource, Disposable {
  readonly name: string;
  readonly size: number;
  /** Address of offset 0. */
  readonly start: number;
  #file: Deno.FsFile;

  /**
   * @param pid Process id.
   * @param start First address of the range.
   * @param size Length of the range in bytes.
   * @throws {Deno.errors.NotFound} when the process is gone.
   */
  constructor(pid: number, start: number, size: number) {
    if (
      !Number.isSafeInteger(start) || !Number.isSafeInteger(size) ||
      start < 0 || size < 0
    ) {
      throw new RangeError(
        `Cannot open memory of pid ${pid}: bad range start=${start} size=${size}`,
      );
    }
    this.name = `pid ${pid} memory at 0x${start.toString(16)}`;
    this.start = start;
    this.size = size;
    this.#file = Deno.openSync(`/proc/${pid}/mem`, { read: true });
  }

  /** Reads `[offset, offset + length)` of the range into a new buffer. */
  read(offset: number, length: number): Uint8Array {
    if (
      !Number.isSafeInteger(offset) || !Number.isSafeInteger(length) ||
      offset < 0 || length < 0 || offset + length > this.size
    ) {
      throw new BinaryFormatError(
        `Cannot read ${length} bytes at offset ${offset} of ${this.name}: range outside its ${this.size} bytes`,
        { offset, section: this.name },
      );
    }
    const out = new Uint8Array(length);
    let done = 0;
    try {
      done = readFullyAt(this.#file, this.start + offset, out);
    } catch (err) {
      throw new BinaryFormatError(
        `Cannot read ${length} bytes at offset ${offset} of ${this.name}: ${
          (err as Error).message
        }`,
        { offset, section: this.name, cause: err },
      );
    }
    if (done < length) {
      throw new BinaryFormatError(
        `Cannot read ${length} bytes at offset ${offset} of ${this.name}: memory not readable`,
        { offset, section: this.name },
      );
    }
    return out;
  }

  /** Closes `/proc/PID/mem`. */
  close(): void {
    try {
      this.#file.close();
    } catch {
      // already closed
    }
  }

  /** Same as {@linkcode ProcessMemorySource.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
