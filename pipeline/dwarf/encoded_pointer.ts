/**
 * `DW_EH_PE_*` pointer encodings of `.eh_frame` (CIE augmentation data, FDE
 * pc ranges, `.eh_frame_hdr` tables): a value format in the low nibble and
 * an application (absolute, pc-relative, text-, data-relative) in bits 4–6.
 *
 * @module
 */
import { BinaryFormatError, type ByteReader } from "../binary/mod.ts";
import { i64Lenient, u64Lenient } from "./_lenient.ts";

/** `DW_EH_PE_omit`: the pointer is absent. */
const DW_EH_PE_omit = 0xff;

/**
 * Reads a pointer in a `DW_EH_PE_*` encoding.
 *
 * @param r Cursor at the pointer.
 * @param enc Encoding byte.
 * @param bases `pc`: vaddr of the section start (pcrel adds it plus the
 *   offset of the field); `data`: datarel base; `text`: textrel base.
 * @param addressSize Size of `absptr`.
 * @returns The decoded value (NaN when it does not fit a safe integer).
 * @throws {BinaryFormatError} on an unknown encoding or truncated input.
 */
export function readEncodedPointer(
  r: ByteReader,
  enc: number,
  bases: { pc: number; data?: number; text?: number },
  addressSize: number,
): number {
  if (enc === DW_EH_PE_omit) return 0;
  const fieldPos = r.pos;
  let v: number;
  switch (enc & 0x0f) {
    case 0x00:
      v = addressSize === 8 ? u64Lenient(r) : r.u32();
      break;
    case 0x01:
      v = r.uleb();
      break;
    case 0x02:
      v = r.u16();
      break;
    case 0x03:
      v = r.u32();
      break;
    case 0x04:
      v = u64Lenient(r);
      break;
    case 0x09:
      v = r.sleb();
      break;
    case 0x0a:
      v = r.i16();
      break;
    case 0x0b:
      v = r.i32();
      break;
    case 0x0c:
      v = i64Lenient(r);
      break;
    default:
      throw new BinaryFormatError(
        `Cannot read an encoded pointer of ${r.section}: unknown format 0x${
          enc.toString(16)
        }`,
        { offset: fieldPos, section: r.section },
      );
  }
  switch (enc & 0x70) {
    case 0x00:
      break;
    case 0x10:
      v += bases.pc + fieldPos;
      break;
    case 0x20:
      v += bases.text ?? 0;
      break;
    case 0x30:
      v += bases.data ?? 0;
      break;
    case 0x40: // funcrel: only used for LSDA contents we never follow
      break;
    case 0x50: // aligned
      break;
    default:
      throw new BinaryFormatError(
        `Cannot read an encoded pointer of ${r.section}: unknown application 0x${
          enc.toString(16)
        }`,
        { offset: fieldPos, section: r.section },
      );
  }
  // 32-bit targets wrap around; addresses are unsigned
  if (addressSize === 4) v = v >>> 0;
  return v;
}
