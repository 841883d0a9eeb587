/**
 * A minimal DWARF `.debug_info` / `.debug_abbrev` reader that finds struct
 * types by name and returns their members' byte offsets — enough to read Go's
 * runtime struct layouts (`runtime.g`, `runtime.m`, `runtime.gobuf`) from an
 * unstripped binary. Handles DWARF 2–5 unit headers and forms, 32- and 64-bit
 * DWARF, and compressed sections (`SHF_COMPRESSED` zlib, which the Go linker
 * writes, and the older `.zdebug_*` form).
 *
 * Glossary:
 * - DIE: debugging information entry; a tag, attributes, maybe children.
 * - abbreviation: the tag/attribute/form template a DIE refers to by code.
 * - form: how an attribute value is encoded (which bytes to read or skip).
 *
 * @module
 */
import { inflateSync } from "node:zlib";
import { BinaryFormatError, ByteReader } from "../binary/mod.ts";
import { type ElfFile, SHF_COMPRESSED } from "../elf/mod.ts";

const DW_TAG_structure_type = 0x13;
const DW_TAG_member = 0x0d;
const DW_AT_name = 0x03;
const DW_AT_byte_size = 0x0b;
const DW_AT_data_member_location = 0x38;
const DW_OP_plus_uconst = 0x23;

/** Largest decompressed debug section accepted. */
export const MAX_DEBUG_SECTION = 256 << 20;
/** Cap on DIE nesting depth. */
const MAX_DEPTH = 256;

/** A struct type found in DWARF. */
export interface DwarfStruct {
  /** `DW_AT_byte_size`, or -1. */
  readonly size: number;
  /** Member name → byte offset. */
  readonly members: ReadonlyMap<string, number>;
}

function fail(what: string, offset = -1, section = ".debug_info"): never {
  throw new BinaryFormatError(`Cannot read DWARF: ${what}`, {
    offset,
    section,
  });
}

/**
 * Bytes of a debug section, decompressed when needed; `undefined` when the
 * file has neither `name` nor its `.zdebug_` twin.
 *
 * @param elf The file.
 * @param name Section name (`.debug_info`).
 * @returns The bytes.
 * @throws {BinaryFormatError} on a bad compression header or stream.
 */
export function debugSection(
  elf: ElfFile,
  name: string,
): Uint8Array | undefined {
  const s = elf.section(name);
  if (s !== undefined) {
    const raw = elf.sectionBytes(s);
    if ((s.flags & SHF_COMPRESSED) === 0) return raw;
    const r = new ByteReader(raw, {
      littleEndian: elf.littleEndian,
      section: name,
    });
    const type = r.u32();
    let size: number;
    if (elf.is64) {
      r.u32();
      size = r.u64();
      r.u64();
    } else {
      size = r.u32();
      r.u32();
    }
    if (type !== 1) fail(`${name} compression type ${type}`, 0, name);
    return inflate(raw.subarray(r.pos), size, name);
  }
  const z = elf.section(".z" + name.slice(1));
  if (z === undefined) return undefined;
  const raw = elf.sectionBytes(z);
  if (
    raw.length < 12 || String.fromCharCode(...raw.subarray(0, 4)) !== "ZLIB"
  ) {
    fail(`${z.name} without a ZLIB header`, 0, z.name);
  }
  const r = new ByteReader(raw, {
    littleEndian: false,
    pos: 4,
    section: z.name,
  });
  return inflate(raw.subarray(12), r.u64(), z.name);
}

function inflate(data: Uint8Array, size: number, name: string): Uint8Array {
  if (size > MAX_DEBUG_SECTION) {
    fail(`${name} claims ${size} bytes uncompressed`, 0, name);
  }
  try {
    const out = inflateSync(data, { maxOutputLength: Math.max(size, 1) });
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (err) {
    throw new BinaryFormatError(`Cannot read DWARF: ${name} does not inflate`, {
      section: name,
      cause: err,
    });
  }
}

interface Abbrev {
  tag: number;
  children: boolean;
  attrs: Int32Array; // name, form, implicit const triples
}

function parseAbbrevs(b: Uint8Array, offset: number): Map<number, Abbrev> {
  const r = new ByteReader(b, { pos: offset, section: ".debug_abbrev" });
  const out = new Map<number, Abbrev>();
  for (let n = 0; n < 1 << 20; n++) {
    const code = r.uleb();
    if (code === 0) return out;
    const tag = r.uleb();
    const children = r.u8() !== 0;
    const attrs: number[] = [];
    for (let k = 0; k < 4096; k++) {
      const name = r.uleb(), form = r.uleb();
      const ic = form === 0x21 ? r.sleb() : 0;
      if (name === 0 && form === 0) break;
      attrs.push(name, form, ic);
    }
    out.set(code, { tag, children, attrs: Int32Array.from(attrs) });
  }
  fail("abbreviation table does not end", offset, ".debug_abbrev");
}

const utf8 = new TextDecoder("utf-8", { fatal: false });

function strAt(tab: Uint8Array | undefined, off: number): string | undefined {
  if (tab === undefined || off < 0 || off >= tab.length) return undefined;
  const end = tab.indexOf(0, off);
  return end < 0 ? undefined : utf8.decode(tab.subarray(off, end));
}

/**
 * Finds struct types by name in `.debug_info` and returns their member
 * offsets. Stops as soon as every name was found.
 *
 * @param elf The file.
 * @param names Struct names as DWARF spells them (`runtime.g`).
 * @returns Found structs by name, or `undefined` when the file has no DWARF.
 * @throws {BinaryFormatError} on malformed DWARF.
 *
 * @example Read the offset of g.m
 * ```ts ignore
 * import { readDwarfStructs } from "./dwarf_structs.ts";
 * import { parseElf } from "../elf/mod.ts";
 * import { FileSource } from "../binary/mod.ts";
 * const s = readDwarfStructs(parseElf(new FileSource("./prog")), ["runtime.g"]);
 * console.log(s?.get("runtime.g")?.members.get("m")); // 48
 * ```
 */
export function readDwarfStructs(
  elf: ElfFile,
  names: readonly string[],
): Map<string, DwarfStruct> | undefined {
  const info = debugSection(elf, ".debug_info");
  const abbrevBytes = debugSection(elf, ".debug_abbrev");
  if (info === undefined || abbrevBytes === undefined) return undefined;
  const str = debugSection(elf, ".debug_str");
  const lineStr = debugSection(elf, ".debug_line_str");
  const want = new Set(names);
  const out = new Map<string, DwarfStruct>();
  const le = elf.littleEndian;
  const r = new ByteReader(info, { littleEndian: le, section: ".debug_info" });
  const abbrevCache = new Map<number, Map<number, Abbrev>>();
  while (r.remaining > 0 && out.size < want.size) {
    const unitStart = r.pos;
    let len = r.u32();
    let off = 4;
    if (len === 0xffffffff) {
      len = r.u64();
      off = 8;
    } else if (len >= 0xfffffff0) {
      fail(`unit length 0x${len.toString(16)}`, unitStart);
    }
    const end = r.pos + len;
    if (end > info.length) fail("unit overruns the section", unitStart);
    const version = r.u16();
    let addrSize: number, abbrevOff: number;
    if (version >= 5) {
      const unitType = r.u8();
      addrSize = r.u8();
      abbrevOff = off === 8 ? r.u64() : r.u32();
      if (unitType === 2 || unitType === 6) r.skip(8 + off);
      else if (unitType === 4 || unitType === 5) r.skip(8);
    } else if (version >= 2) {
      abbrevOff = off === 8 ? r.u64() : r.u32();
      addrSize = r.u8();
    } else {
      fail(`DWARF version ${version}`, unitStart);
    }
    let abbrevs = abbrevCache.get(abbrevOff);
    if (abbrevs === undefined) {
      abbrevs = parseAbbrevs(abbrevBytes, abbrevOff);
      abbrevCache.set(abbrevOff, abbrevs);
    }
    const ctx: FormCtx = { r, addrSize, off, version, str, lineStr };
    let depth = 0;
    let current:
      | { name: string; size: number; members: Map<string, number> }
      | undefined;
    let currentDepth = -1;
    while (r.pos < end) {
      const code = r.uleb();
      if (code === 0) {
        if (depth === currentDepth + 1 && current !== undefined) {
          out.set(current.name, {
            size: current.size,
            members: current.members,
          });
          current = undefined;
          currentDepth = -1;
        }
        depth--;
        if (depth < 0) break;
        continue;
      }
      const a = abbrevs.get(code);
      if (a === undefined) fail(`unknown abbreviation ${code}`, r.pos);
      const isStruct = a.tag === DW_TAG_structure_type && current === undefined;
      const isMember = a.tag === DW_TAG_member && current !== undefined &&
        depth === currentDepth + 1;
      let name: string | undefined, size = -1, loc = -1;
      const at = a.attrs;
      for (let k = 0; k < at.length; k += 3) {
        const attr = at[k]!, form = at[k + 1]!;
        if ((isStruct || isMember) && attr === DW_AT_name) {
          name = readString(ctx, form);
        } else if (isStruct && attr === DW_AT_byte_size) {
          size = readConst(ctx, form, at[k + 2]!);
        } else if (isMember && attr === DW_AT_data_member_location) {
          loc = readLocation(ctx, form, at[k + 2]!);
        } else skipForm(ctx, form);
      }
      if (isStruct && name !== undefined && want.has(name) && !out.has(name)) {
        if (a.children) {
          current = { name, size, members: new Map() };
          currentDepth = depth;
        } else out.set(name, { size, members: new Map() });
      } else if (isMember && name !== undefined && loc >= 0) {
        current!.members.set(name, loc);
      }
      if (a.children) {
        depth++;
        if (depth > MAX_DEPTH) fail("DIEs nested too deep", r.pos);
      }
    }
    r.pos = end;
  }
  return out;
}

interface FormCtx {
  r: ByteReader;
  addrSize: number;
  off: number;
  version: number;
  str: Uint8Array | undefined;
  lineStr: Uint8Array | undefined;
}

function readString(c: FormCtx, form: number): string | undefined {
  const r = c.r;
  switch (form) {
    case 0x08:
      return r.cstring();
    case 0x0e: // strp
      return strAt(c.str, c.off === 8 ? r.u64() : r.u32());
    case 0x1f: // line_strp
      return strAt(c.lineStr, c.off === 8 ? r.u64() : r.u32());
    default:
      skipForm(c, form);
      return undefined;
  }
}

function readConst(c: FormCtx, form: number, implicit: number): number {
  const r = c.r;
  switch (form) {
    case 0x0b:
      return r.u8();
    case 0x05:
      return r.u16();
    case 0x06:
      return r.u32();
    case 0x07:
      return r.u64();
    case 0x0f:
      return r.uleb();
    case 0x0d:
      return r.sleb();
    case 0x21:
      return implicit;
    default:
      skipForm(c, form);
      return -1;
  }
}

function readLocation(c: FormCtx, form: number, implicit: number): number {
  if (form === 0x18 || form === 0x0a) { // exprloc, block1
    const r = c.r;
    const n = form === 0x18 ? r.uleb() : r.u8();
    const endPos = r.pos + n;
    let v = -1;
    if (n > 0 && r.u8() === DW_OP_plus_uconst) v = r.uleb();
    r.pos = endPos;
    return v;
  }
  return readConst(c, form, implicit);
}

/** Skips a LEB128 of any length up to 16 bytes (constants may exceed 2^53). */
function skipLeb(r: ByteReader): void {
  for (let i = 0; i < 16; i++) if ((r.u8() & 0x80) === 0) return;
  fail("LEB128 longer than 16 bytes", r.pos);
}

function skipForm(c: FormCtx, form: number, nest = 0): void {
  const r = c.r;
  switch (form) {
    case 0x01:
      r.skip(c.addrSize);
      return;
    case 0x03:
      r.skip(r.u16());
      return;
    case 0x04:
      r.skip(r.u32());
      return;
    case 0x05:
    case 0x12:
    case 0x26:
    case 0x2a:
      r.skip(2);
      return;
    case 0x06:
    case 0x13:
    case 0x1c:
    case 0x28:
    case 0x2c:
      r.skip(4);
      return;
    case 0x07:
    case 0x14:
    case 0x20:
    case 0x24:
      r.skip(8);
      return;
    case 0x08:
      r.cstring();
      return;
    case 0x09:
    case 0x18:
      r.skip(r.uleb());
      return;
    case 0x0a:
      r.skip(r.u8());
      return;
    case 0x0b:
    case 0x0c:
    case 0x11:
    case 0x25:
    case 0x29:
      r.skip(1);
      return;
    case 0x0d:
    case 0x0f:
    case 0x15:
    case 0x1a:
    case 0x1b:
    case 0x22:
    case 0x23:
    case 0x1f01:
    case 0x1f02:
      skipLeb(r);
      return;
    case 0x10: // ref_addr: address size in DWARF 2, offset size later
      r.skip(c.version === 2 ? c.addrSize : c.off);
      return;
    case 0x0e:
    case 0x17:
    case 0x1d:
    case 0x1f:
    case 0x1f20:
    case 0x1f21:
      r.skip(c.off);
      return;
    case 0x16: // indirect
      if (nest > 4) fail("nested DW_FORM_indirect", r.pos);
      skipForm(c, r.uleb(), nest + 1);
      return;
    case 0x19:
    case 0x21:
      return;
    case 0x1e:
      r.skip(16);
      return;
    case 0x27:
    case 0x2b:
      r.skip(3);
      return;
    default:
      fail(`unknown form 0x${form.toString(16)}`, r.pos);
  }
}
