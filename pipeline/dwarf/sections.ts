/**
 * Reading DWARF sections that may be compressed: `SHF_COMPRESSED` sections
 * (an `Elf_Chdr` then zlib or zstd data, as `--compress-debug-sections`
 * writes) and the older `.zdebug_*` sections (`ZLIB` + big-endian size).
 *
 * @module
 */
import * as zlib from "node:zlib";
import { BinaryFormatError, ByteReader } from "../binary/mod.ts";
import { type ElfFile, type Section, SHF_COMPRESSED } from "../elf/mod.ts";

/** Largest decompressed section we accept, whatever the header claims. */
export const MAX_DECOMPRESSED = 512 << 20;

const ELFCOMPRESS_ZLIB = 1;
const ELFCOMPRESS_ZSTD = 2;

/**
 * The contents of a section, decompressed when needed.
 *
 * @param elf The file.
 * @param s One of its sections.
 * @returns The (decompressed) bytes.
 * @throws {BinaryFormatError} on a bad header, an unknown algorithm, a size
 *   above {@linkcode MAX_DECOMPRESSED}, or corrupt compressed data.
 *
 * @example
 * ```ts ignore
 * const line = sectionData(elf, elf.section(".debug_line")!);
 * ```
 */
export function sectionData(elf: ElfFile, s: Section): Uint8Array {
  const raw = elf.sectionBytes(s);
  if ((s.flags & SHF_COMPRESSED) !== 0) {
    const r = new ByteReader(raw, {
      littleEndian: elf.littleEndian,
      section: s.name,
    });
    const type = r.u32();
    let size: number;
    if (elf.is64) {
      r.u32(); // ch_reserved
      size = r.u64();
      r.u64(); // ch_addralign
    } else {
      size = r.u32();
      r.u32();
    }
    return inflate(raw.subarray(r.pos), type, size, s.name);
  }
  if (s.name.startsWith(".zdebug")) {
    const r = new ByteReader(raw, { littleEndian: false, section: s.name });
    const magic = new TextDecoder().decode(r.subarray(4));
    if (magic !== "ZLIB") return raw;
    const size = r.u64();
    return inflate(raw.subarray(r.pos), ELFCOMPRESS_ZLIB, size, s.name);
  }
  return raw;
}

function inflate(
  data: Uint8Array,
  type: number,
  size: number,
  name: string,
): Uint8Array {
  if (size > MAX_DECOMPRESSED) {
    throw new BinaryFormatError(
      `Cannot decompress ${name}: claimed size ${size} exceeds ${MAX_DECOMPRESSED}`,
      { section: name },
    );
  }
  try {
    let out: Uint8Array;
    if (type === ELFCOMPRESS_ZLIB) {
      out = zlib.inflateSync(data, { maxOutputLength: Math.max(size, 1) });
    } else if (type === ELFCOMPRESS_ZSTD) {
      // deno-lint-ignore no-explicit-any
      const z = zlib as any;
      if (typeof z.zstdDecompressSync !== "function") {
        throw new Error("zstd is not available in this runtime");
      }
      out = z.zstdDecompressSync(data, { maxOutputLength: Math.max(size, 1) });
    } else {
      throw new Error(`unknown compression type ${type}`);
    }
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (err) {
    if (err instanceof BinaryFormatError) throw err;
    throw new BinaryFormatError(
      `Cannot decompress ${name}: ${(err as Error).message}`,
      {
        section: name,
        cause: err,
      },
    );
  }
}
