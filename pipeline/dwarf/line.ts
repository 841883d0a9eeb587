/**
 * `.debug_line` (DWARF 2–5) compiled into one sorted pc → file:line table.
 *
 * Glossary:
 * - Line program: a byte code per compilation unit whose state machine emits
 *   rows (address, file, line, ...); `end_sequence` closes a contiguous range.
 * - DWARF 5 describes its directory and file tables with "entry formats"
 *   (content type + form pairs); paths may live in `.debug_line_str`
 *   (`DW_FORM_line_strp`) or `.debug_str` (`DW_FORM_strp`).
 *
 * Malformed units are skipped; every loop consumes input bytes.
 *
 * @module
 */
import { BinaryFormatError, ByteReader, cstringAt } from "../binary/mod.ts";
import type { ElfFile } from "../elf/mod.ts";
import { sectionData } from "./sections.ts";

/** A source position. */
export interface SourceLine {
  /** File path (directory joined when relative). */
  readonly file: string;
  /** 1-based line; 0 when the compiler had none. */
  readonly line: number;
}

/** Sorted rows: `addr[i]` up to `addr[i+1]` is `files[file[i]]:line[i]`; file −1 is a gap. */
export class LineTable {
  /** Row count. */
  readonly length: number;
  /** Row addresses (vaddr), ascending. */
  readonly addr: Float64Array;
  /** Index into {@linkcode LineTable.files}, −1 for gaps. */
  readonly file: Int32Array;
  /** Line numbers. */
  readonly line: Uint32Array;
  /** File paths. */
  readonly files: readonly string[];
  /** Units skipped as malformed. */
  readonly skipped: number;

  /**
   * @param rows Sorted rows.
   * @param files Paths.
   * @param skipped Skipped unit count.
   */
  constructor(
    rows: {
      addr: Float64Array;
      file: Int32Array;
      line: Uint32Array;
      length: number;
    },
    files: string[],
    skipped: number,
  ) {
    this.length = rows.length;
    this.addr = rows.addr;
    this.file = rows.file;
    this.line = rows.line;
    this.files = files;
    this.skipped = skipped;
  }

  /**
   * The file and line of `vaddr`.
   *
   * @param vaddr Link-time address.
   * @returns The position, or `undefined` outside all sequences.
   */
  lookup(vaddr: number): SourceLine | undefined {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.addr[mid]! <= vaddr) lo = mid + 1;
      else hi = mid;
    }
    const i = lo - 1;
    if (i < 0) return undefined;
    const f = this.file[i]!;
    if (f < 0) return undefined;
    return { file: this.files[f] ?? "?", line: this.line[i]! };
  }
}

interface Seq {
  addr: number[];
  file: number[];
  line: number[];
}

/**
 * Compiles `.debug_line` of `elf` (or its debug file).
 *
 * @param elf File carrying `.debug_line` (and `.debug_line_str`/`.debug_str` for DWARF 5).
 * @returns The table, or `undefined` when the file has no line info.
 * @throws {BinaryFormatError} only when the section itself cannot be read.
 *
 * @example
 * ```ts ignore
 * const lines = buildLineTable(debugElf);
 * console.log(lines?.lookup(0x1139)); // { file: "/src/main.c", line: 12 }
 * ```
 */
export function buildLineTable(elf: ElfFile): LineTable | undefined {
  const sec = elf.section(".debug_line") ?? elf.section(".zdebug_line");
  if (sec === undefined) return undefined;
  const data = sectionData(elf, sec);
  const strSec = elf.section(".debug_line_str");
  const lineStr = strSec ? sectionData(elf, strSec) : new Uint8Array(0);
  const dstrSec = elf.section(".debug_str");
  const debugStr = dstrSec ? sectionData(elf, dstrSec) : new Uint8Array(0);
  const files: string[] = [];
  const fileIds = new Map<string, number>();
  const seqs: Seq[] = [];
  let skipped = 0;
  const r = new ByteReader(data, {
    littleEndian: elf.littleEndian,
    section: ".debug_line",
  });
  while (r.remaining >= 4) {
    let len = r.u32();
    let offSize = 4;
    if (len === 0xffffffff) {
      len = r.u64();
      offSize = 8;
    }
    if (len > r.remaining || len < 2) break;
    const end = r.pos + len;
    try {
      const unit = new ByteReader(data.subarray(0, end), {
        littleEndian: elf.littleEndian,
        pos: r.pos,
        section: ".debug_line",
      });
      readUnit(
        unit,
        offSize,
        elf.is64 ? 8 : 4,
        { lineStr, debugStr },
        (path) => {
          let id = fileIds.get(path);
          if (id === undefined) {
            id = files.length;
            files.push(path);
            fileIds.set(path, id);
          }
          return id;
        },
        seqs,
      );
    } catch (err) {
      if (!(err instanceof BinaryFormatError)) throw err;
      skipped++;
    }
    r.pos = end;
  }
  // Sequences at address 0 are code the linker discarded; drop them.
  const kept = seqs.filter((s) => s.addr.length > 0 && s.addr[0] !== 0);
  kept.sort((a, b) => a.addr[0]! - b.addr[0]!);
  let n = 0;
  for (const s of kept) n += s.addr.length;
  const addr = new Float64Array(n);
  const file = new Int32Array(n);
  const line = new Uint32Array(n);
  let k = 0;
  let last = -1;
  for (const s of kept) {
    for (let i = 0; i < s.addr.length; i++) {
      const a = s.addr[i]!;
      if (a < last) continue; // overlapping sequence: keep the earlier one
      // Several rows at one address: the last one wins (what the pc executes).
      if (k > 0 && addr[k - 1] === a) k--;
      addr[k] = a;
      file[k] = s.file[i]!;
      line[k] = s.line[i]!;
      k++;
      last = a;
    }
  }
  return new LineTable({ addr, file, line, length: k }, files, skipped);
}

const DW_LNCT_path = 1;
const DW_LNCT_directory_index = 2;

function readForm(
  r: ByteReader,
  form: number,
  offSize: number,
  strs: { lineStr: Uint8Array; debugStr: Uint8Array },
): string | number {
  switch (form) {
    case 0x08: // string
      return r.cstring();
    case 0x1f: // line_strp
      return cstringAt(strs.lineStr, offSize === 8 ? r.u64() : r.u32()) ?? "?";
    case 0x0e: // strp
      return cstringAt(strs.debugStr, offSize === 8 ? r.u64() : r.u32()) ?? "?";
    case 0x0b: // data1
      return r.u8();
    case 0x05: // data2
      return r.u16();
    case 0x06: // data4
      return r.u32();
    case 0x07: // data8
      r.skip(8);
      return 0;
    case 0x1e: // data16 (MD5)
      r.skip(16);
      return 0;
    case 0x0f: // udata
      return r.uleb();
    case 0x09: // block
      r.skip(r.uleb());
      return 0;
    default:
      throw new BinaryFormatError(
        `Cannot read .debug_line entry: unsupported form 0x${
          form.toString(16)
        }`,
        {
          offset: r.pos,
          section: ".debug_line",
        },
      );
  }
}

function join(dir: string | undefined, name: string): string {
  if (name.startsWith("/") || dir === undefined || dir === "") return name;
  return `${dir.replace(/\/+$/, "")}/${name}`;
}

function readEntries(
  r: ByteReader,
  offSize: number,
  strs: { lineStr: Uint8Array; debugStr: Uint8Array },
): { path: string; dir: number }[] {
  const nFormats = r.u8();
  const formats: [number, number][] = [];
  for (let i = 0; i < nFormats; i++) formats.push([r.uleb(), r.uleb()]);
  const count = r.uleb();
  if (count > r.remaining && nFormats > 0) {
    throw new BinaryFormatError(
      "Cannot read .debug_line entries: count exceeds the unit",
      {
        offset: r.pos,
        section: ".debug_line",
      },
    );
  }
  const out: { path: string; dir: number }[] = [];
  for (let i = 0; i < count; i++) {
    let path = "";
    let dir = 0;
    for (const [type, form] of formats) {
      const v = readForm(r, form, offSize, strs);
      if (type === DW_LNCT_path && typeof v === "string") path = v;
      else if (type === DW_LNCT_directory_index && typeof v === "number") {
        dir = v;
      }
    }
    out.push({ path, dir });
  }
  return out;
}

function readUnit(
  r: ByteReader,
  offSize: number,
  addrSize: number,
  strs: { lineStr: Uint8Array; debugStr: Uint8Array },
  fileId: (path: string) => number,
  seqs: Seq[],
): void {
  const version = r.u16();
  if (version < 2 || version > 5) {
    throw new BinaryFormatError(`Cannot read .debug_line: version ${version}`, {
      offset: r.pos,
      section: ".debug_line",
    });
  }
  if (version >= 5) {
    addrSize = r.u8();
    r.u8(); // segment selector size
  }
  const headerLen = offSize === 8 ? r.u64() : r.u32();
  const progStart = r.pos + headerLen;
  const minInst = r.u8();
  if (version >= 4) r.u8(); // maximum_operations_per_instruction (VLIW only)
  const defaultIsStmt = r.u8() !== 0;
  void defaultIsStmt;
  const lineBase = r.i8();
  const lineRange = r.u8();
  const opcodeBase = r.u8();
  if (lineRange === 0 || opcodeBase === 0) {
    throw new BinaryFormatError(
      "Cannot read .debug_line: zero line_range or opcode_base",
      {
        offset: r.pos,
        section: ".debug_line",
      },
    );
  }
  const stdLens = r.subarray(opcodeBase - 1);
  // File ids by the unit's own numbering (1-based before DWARF 5, 0-based since).
  const unitFiles: number[] = [];
  if (version >= 5) {
    const dirs = readEntries(r, offSize, strs).map((d) => d.path);
    for (const f of readEntries(r, offSize, strs)) {
      unitFiles.push(fileId(join(dirs[f.dir], f.path)));
    }
  } else {
    const dirs: string[] = [""];
    for (let s = r.cstring(); s !== ""; s = r.cstring()) dirs.push(s);
    unitFiles.push(-1);
    for (let s = r.cstring(); s !== ""; s = r.cstring()) {
      const dir = r.uleb();
      r.uleb();
      r.uleb();
      unitFiles.push(fileId(join(dirs[dir], s)));
    }
  }
  if (progStart > r.bytes.length || progStart < r.pos) {
    throw new BinaryFormatError("Cannot read .debug_line: bad header_length", {
      offset: r.pos,
      section: ".debug_line",
    });
  }
  r.pos = progStart;
  let addr = 0;
  let file = 1;
  let line = 1;
  let seq: Seq = { addr: [], file: [], line: [] };
  const emit = () => {
    seq.addr.push(addr);
    seq.file.push(unitFiles[file] ?? -1);
    seq.line.push(line);
  };
  while (r.remaining > 0) {
    const op = r.u8();
    if (op >= opcodeBase) {
      const adj = op - opcodeBase;
      addr += Math.floor(adj / lineRange) * minInst;
      line += lineBase + (adj % lineRange);
      emit();
      continue;
    }
    switch (op) {
      case 0: { // extended
        const len = r.uleb();
        if (len === 0) break;
        const end = r.pos + len;
        r.need(len);
        const sub = r.u8();
        if (sub === 1) { // end_sequence
          emit();
          seq.file[seq.file.length - 1] = -1;
          seqs.push(seq);
          seq = { addr: [], file: [], line: [] };
          addr = 0;
          file = 1;
          line = 1;
        } else if (sub === 2) { // set_address
          const size = len - 1;
          if (size === 8) {
            const lo = r.u32();
            const hi = r.u32();
            addr = r.littleEndian
              ? hi * 0x100000000 + lo
              : lo * 0x100000000 + hi;
          } else if (size === 4) addr = r.u32();
          else void addrSize;
        }
        r.pos = end;
        break;
      }
      case 1: // copy
        emit();
        break;
      case 2: // advance_pc
        addr += r.uleb() * minInst;
        break;
      case 3: // advance_line
        line += r.sleb();
        break;
      case 4: // set_file
        file = r.uleb();
        break;
      case 8: // const_add_pc
        addr += Math.floor((255 - opcodeBase) / lineRange) * minInst;
        break;
      case 9: // fixed_advance_pc
        addr += r.u16();
        break;
      default: { // known no-arg opcodes and unknown ones: skip their uleb operands
        const n = stdLens[op - 1] ?? 0;
        for (let i = 0; i < n; i++) r.uleb();
      }
    }
  }
}
