/**
 * A bounds-checked cursor over bytes, the one primitive every binary parser
 * (ELF, DWARF, gopclntab, ring buffer records) builds on. Reads past the end
 * throw {@linkcode BinaryFormatError}; 64-bit values larger than 2^53 throw
 * from {@linkcode ByteReader.u64} and are available exactly from
 * {@linkcode ByteReader.u64big}.
 *
 * @module
 */
import { BinaryFormatError } from "./errors.ts";

const utf8 = new TextDecoder("utf-8", { fatal: false });

/**
 * Cursor over a byte array with little- or big-endian reads.
 *
 * @example Read a ULEB128
 * ```ts
 * import { ByteReader } from "./reader.ts";
 * const r = new ByteReader(new Uint8Array([0xe5, 0x8e, 0x26]));
 * console.assert(r.uleb() === 624485);
 * ```
 */
export class ByteReader {
  /** The bytes being read. */
  readonly bytes: Uint8Array;
  /** The view over {@linkcode ByteReader.bytes}. */
  readonly view: DataView;
  /** True for little-endian multi-byte reads. */
  readonly littleEndian: boolean;
  /** Name of the structure, for error messages. */
  readonly section: string;
  /** Current offset. */
  pos: number;

  /**
   * @param bytes Input.
   * @param options Endianness (default little), start offset, section name.
   */
  constructor(
    bytes: Uint8Array,
    options: { littleEndian?: boolean; pos?: number; section?: string } = {},
  ) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.littleEndian = options.littleEndian ?? true;
    this.pos = options.pos ?? 0;
    this.section = options.section ?? "input";
  }

  /** Bytes left after the cursor. */
  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  /** Throws unless `n` more bytes are available. */
  need(n: number): void {
    if (n < 0 || this.pos + n > this.bytes.length || this.pos < 0) {
      throw new BinaryFormatError(
        `Cannot read ${n} bytes of ${this.section} at offset ${this.pos}: only ${
          Math.max(0, this.bytes.length - this.pos)
        } left`,
        { offset: this.pos, section: this.section },
      );
    }
  }

  /** Moves the cursor forward by `n` bytes. */
  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  /** Reads an unsigned byte. */
  u8(): number {
    this.need(1);
    return this.bytes[this.pos++]!;
  }
  /** Reads a signed byte. */
  i8(): number {
    this.need(1);
    return this.view.getInt8(this.pos++);
  }
  /** Reads an unsigned 16-bit integer. */
  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos, this.littleEndian);
    this.pos += 2;
    return v;
  }
  /** Reads a signed 16-bit integer. */
  i16(): number {
    this.need(2);
    const v = this.view.getInt16(this.pos, this.littleEndian);
    this.pos += 2;
    return v;
  }
  /** Reads an unsigned 32-bit integer. */
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, this.littleEndian);
    this.pos += 4;
    return v;
  }
  /** Reads a signed 32-bit integer. */
  i32(): number {
    this.need(4);
    const v = this.view.getInt32(this.pos, this.littleEndian);
    this.pos += 4;
    return v;
  }
  /**
   * Reads an unsigned 64-bit integer as a number.
   *
   * @throws {BinaryFormatError} when the value exceeds 2^53 - 1.
   */
  u64(): number {
    this.need(8);
    const lo = this.view.getUint32(
      this.pos + (this.littleEndian ? 0 : 4),
      this.littleEndian,
    );
    const hi = this.view.getUint32(
      this.pos + (this.littleEndian ? 4 : 0),
      this.littleEndian,
    );
    if (hi > 0x1fffff) {
      throw new BinaryFormatError(
        `Cannot read a 64-bit value of ${this.section} at offset ${this.pos} as a number: it exceeds 2^53`,
        { offset: this.pos, section: this.section },
      );
    }
    this.pos += 8;
    return hi * 0x100000000 + lo;
  }
  /** Reads an unsigned 64-bit integer exactly. */
  u64big(): bigint {
    this.need(8);
    const v = this.view.getBigUint64(this.pos, this.littleEndian);
    this.pos += 8;
    return v;
  }
  /** Reads a signed 64-bit integer as a number (throws beyond ±2^53). */
  i64(): number {
    this.need(8);
    const v = this.view.getBigInt64(this.pos, this.littleEndian);
    if (
      v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)
    ) {
      throw new BinaryFormatError(
        `Cannot read a signed 64-bit value of ${this.section} at offset ${this.pos} as a number: out of range`,
        { offset: this.pos, section: this.section },
      );
    }
    this.pos += 8;
    return Number(v);
  }
  /** Reads an address-sized unsigned value (4 or 8 bytes). */
  addr(size: number): number {
    return size === 8 ? this.u64() : this.u32();
  }

  /** Reads an unsigned LEB128 (at most 10 bytes; values beyond 2^53 throw). */
  uleb(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.u8();
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) {
        if (result > Number.MAX_SAFE_INTEGER) break;
        return result;
      }
      mul *= 128;
    }
    throw new BinaryFormatError(
      `Cannot read a ULEB128 of ${this.section} at offset ${this.pos}: malformed or larger than 2^53`,
      { offset: this.pos, section: this.section },
    );
  }

  /** Reads a signed LEB128 (at most 10 bytes; values beyond ±2^53 throw). */
  sleb(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.u8();
      result += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) {
        if (b & 0x40) result -= mul;
        if (!Number.isSafeInteger(result)) break;
        return result;
      }
    }
    throw new BinaryFormatError(
      `Cannot read an SLEB128 of ${this.section} at offset ${this.pos}: malformed or out of range`,
      { offset: this.pos, section: this.section },
    );
  }

  /** Returns a view of the next `n` bytes and moves past them. */
  subarray(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Reads a NUL-terminated string (UTF-8, invalid bytes replaced). */
  cstring(): string {
    const end = this.bytes.indexOf(0, this.pos);
    if (end < 0) {
      throw new BinaryFormatError(
        `Cannot read a string of ${this.section} at offset ${this.pos}: no NUL terminator`,
        { offset: this.pos, section: this.section },
      );
    }
    const s = utf8.decode(this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }
}

/**
 * Reads a NUL-terminated string at `offset` of `bytes` without a cursor.
 * Returns `undefined` when the offset is out of range or no NUL follows.
 *
 * @param bytes A string table.
 * @param offset Start of the string.
 * @returns The string, or `undefined`.
 */
export function cstringAt(
  bytes: Uint8Array,
  offset: number,
): string | undefined {
  if (!Number.isInteger(offset) || offset < 0 || offset >= bytes.length) {
    return undefined;
  }
  const end = bytes.indexOf(0, offset);
  if (end < 0) return undefined;
  return utf8.decode(bytes.subarray(offset, end));
}
