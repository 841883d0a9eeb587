/**
 * Random-access byte sources: a file, an in-memory buffer, or another
 * process's memory. Parsers read through this interface so the same ELF code
 * works on a file on disk, a recording, or `/proc/PID/mem`.
 *
 * @module
 */
import { BinaryFormatError } from "./errors.ts";

/** Something that can hand out byte ranges by offset. */
export interface ByteSource {
  /** For error messages: a path, `pid 42 memory`, ... */
  readonly name: string;
  /** Total size in bytes. */
  readonly size: number;
  /**
   * Bytes `[offset, offset + length)`. May return a view into a shared
   * buffer: callers must not write to it.
   *
   * @throws {BinaryFormatError} when the range lies outside the source.
   */
  read(offset: number, length: number): Uint8Array;
}

function checkRange(src: ByteSource, offset: number, length: number): void {
  if (
    !Number.isSafeInteger(offset) || !Number.isSafeInteger(length) ||
    offset < 0 || length < 0 || offset + length > src.size
  ) {
    throw new BinaryFormatError(
      `Cannot read ${length} bytes at offset ${offset} of ${src.name}: range outside its ${src.size} bytes`,
      { offset, section: src.name },
    );
  }
}

/**
 * A source over bytes already in memory.
 *
 * @example Read a range
 * ```ts
 * import { BytesSource } from "./source.ts";
 * const src = new BytesSource(new Uint8Array([1, 2, 3, 4]), "demo");
 * console.assert(src.read(1, 2)[0] === 2);
 * ```
 */
export class BytesSource implements ByteSource {
  readonly name: string;
  readonly size: number;
  #bytes: Uint8Array;
  /**
   * @param bytes The whole content.
   * @param name Name for error messages.
   */
  constructor(bytes: Uint8Array, name = "buffer") {
    this.#bytes = bytes;
    this.name = name;
    this.size = bytes.length;
  }
  /** Returns a view of `[offset, offset + length)`. */
  read(offset: number, length: number): Uint8Array {
    checkRange(this, offset, length);
    return this.#bytes.subarray(offset, offset + length);
  }
}

/**
 * A source over an open file, read on demand with positioned reads. Close it
 * (or use `using`) to release the descriptor.
 */
export class FileSource implements ByteSource, Disposable {
  readonly name: string;
  readonly size: number;
  #file: Deno.FsFile;
  /**
   * @param path File to open read-only.
   */
  constructor(path: string) {
    this.name = path;
    this.#file = Deno.openSync(path, { read: true });
    try {
      this.size = this.#file.statSync().size;
    } catch (err) {
      this.#file.close();
      throw err;
    }
  }
  /** Reads `[offset, offset + length)` into a new buffer. */
  read(offset: number, length: number): Uint8Array {
    checkRange(this, offset, length);
    const out = new Uint8Array(length);
    if (readFullyAt(this.#file, offset, out) < length) {
      throw new BinaryFormatError(
        `Cannot read ${length} bytes at offset ${offset} of ${this.name}: file shrank while reading`,
        { offset, section: this.name },
      );
    }
    return out;
  }
  /** Closes the file. */
  close(): void {
    try {
      this.#file.close();
    } catch {
      // already closed
    }
  }
  /** Same as {@linkcode FileSource.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Fills `out` from `file` starting at byte `position`, looping over short
 * reads until `out` is full or the file (or readable memory) ends.
 *
 * @param file An open file.
 * @param position Absolute offset to seek to first.
 * @param out Buffer to fill.
 * @returns Bytes read: `out.length`, or fewer at end of file.
 * @throws {Error} what seeking or reading the file throws.
 *
 * @example Read the ELF magic of a file
 * ```ts ignore
 * using f = Deno.openSync("/bin/sh");
 * const magic = new Uint8Array(4);
 * console.assert(readFullyAt(f, 0, magic) === 4);
 * ```
 */
export function readFullyAt(
  file: Deno.FsFile,
  position: number,
  out: Uint8Array,
): number {
  file.seekSync(position, Deno.SeekMode.Start);
  let done = 0;
  while (done < out.length) {
    const n = file.readSync(out.subarray(done));
    if (n === null || n === 0) break;
    done += n;
  }
  return done;
}
