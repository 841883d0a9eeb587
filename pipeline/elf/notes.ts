/**
 * ELF note records (`Elf_Nhdr`: namesz, descsz, type, then name and
 * descriptor, each padded to the note alignment).
 *
 * @module
 */
import { ByteReader } from "../binary/mod.ts";

/** One note. `desc` is a view into the section bytes. */
export interface ElfNote {
  /** Owner name without its NUL (`GNU`, `Go`). */
  readonly name: string;
  /** Note type (NT_GNU_BUILD_ID = 3 for GNU, 4 for Go's build id). */
  readonly type: number;
  /** Descriptor bytes. */
  readonly desc: Uint8Array;
}

const dec = new TextDecoder();

/**
 * Reads all notes of a note section or segment. Stops quietly at the first
 * truncated record: notes are optional metadata, a bad tail must not hide the
 * good ones before it.
 *
 * @param bytes The note section or segment.
 * @param littleEndian Byte order of the file.
 * @param align Section or segment alignment; 8 selects 8-byte padding (as
 *   linkers emit for `.note.gnu.property`), anything else 4.
 * @returns The notes in order.
 *
 * @example No notes in an empty section
 * ```ts
 * import { readNotes } from "./notes.ts";
 * console.assert(readNotes(new Uint8Array(0), true, 4).length === 0);
 * ```
 */
export function readNotes(
  bytes: Uint8Array,
  littleEndian: boolean,
  align: number,
): ElfNote[] {
  const pad = align === 8 ? 8 : 4;
  const r = new ByteReader(bytes, { littleEndian, section: "note" });
  const out: ElfNote[] = [];
  // Each record consumes at least 12 bytes, so the loop is bounded by length.
  while (r.remaining >= 12) {
    const namesz = r.u32();
    const descsz = r.u32();
    const type = r.u32();
    const nameLen = (namesz + pad - 1) & ~(pad - 1);
    const descLen = (descsz + pad - 1) & ~(pad - 1);
    if (namesz > r.remaining || nameLen > r.remaining) break;
    const nameBytes = bytes.subarray(r.pos, r.pos + namesz);
    r.pos += nameLen;
    if (descsz > r.remaining) break;
    const desc = bytes.subarray(r.pos, r.pos + descsz);
    r.pos = Math.min(bytes.length, r.pos + descLen);
    let end = nameBytes.indexOf(0);
    if (end < 0) end = nameBytes.length;
    out.push({ name: dec.decode(nameBytes.subarray(0, end)), type, desc });
  }
  return out;
}
