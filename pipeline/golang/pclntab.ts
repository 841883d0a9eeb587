/**
 * gopclntab reader: function lookup, names, pc-value tables (pcsp, pcfile,
 * pcln, pcdata), file:line and inlined frames, for the Go 1.18 (magic
 * 0xfffffff0) and Go 1.20+ (0xfffffff1) formats.
 *
 * Glossary:
 * - pcHeader: the table's header (magic, quantum, pointer size, nfunc,
 *   offsets of the sub-tables relative to the header).
 * - functab: `nfunc + 1` pairs `{entryOff u32, funcOff u32}` sorted by entry;
 *   entries are offsets from the text start, the last one is the end of text.
 * - _func: per-function record (name, pc-value table offsets, flags, funcID,
 *   then `u32 pcdata[npcdata]`, `u32 funcdata[nfuncdata]`).
 * - pc-value table: zig-zag value deltas and pc deltas (× quantum) as
 *   uvarints, starting at value −1 at the function entry.
 * - inline tree: FUNCDATA 3, an array of inlined calls indexed by PCDATA 2;
 *   funcdata offsets are relative to `moduledata.gofunc` (`go:func.*`).
 * - text start: 1.18–1.25 store it in the header; 1.26 writes 0 there and the
 *   runtime uses `moduledata.text`, which this reader takes from the moduledata
 *   (`.go.module` section in 1.26, `runtime.firstmoduledata`, or a scan for a
 *   word pointing at the header), or the `runtime.text` symbol.
 *
 * @module
 */
import { BinaryFormatError } from "../binary/mod.ts";
import { type ElfFile, PT_LOAD } from "../elf/mod.ts";
import { findSymbols, readAtVaddr } from "./_elf_util.ts";

/** Magic of Go 1.20 and later tables. */
export const PCLNTAB_MAGIC_120 = 0xfffffff1;
/** Magic of Go 1.18 and 1.19 tables. */
export const PCLNTAB_MAGIC_118 = 0xfffffff0;
const OLD_MAGICS: Record<number, string> = {
  0xfffffffb: "Go 1.2–1.15",
  0xfffffffa: "Go 1.16–1.17",
};

/** `_func.flag` bit: function is the top of a call stack (goexit, mstart, rt0_go). */
export const FUNC_FLAG_TOPFRAME = 1;
/** `_func.flag` bit: function writes SP other than by its frame setup. */
export const FUNC_FLAG_SPWRITE = 2;
/** `_func.flag` bit: function is written in assembly. */
export const FUNC_FLAG_ASM = 4;

/** PCDATA index of the inline tree index table. */
export const PCDATA_INL_TREE_INDEX = 2;
/** FUNCDATA index of the inline tree. */
export const FUNCDATA_INL_TREE = 3;

/** Bytes scanned for the header magic when no section or symbol names it. */
export const PCLNTAB_SCAN_LIMIT = 64 << 20;
/** Cap on entries of the per-pc symbolization cache (then it is cleared). */
export const SYMBOLIZE_CACHE_MAX = 1 << 18;
/** Cap on inline depth followed for one pc. */
export const MAX_INLINE_DEPTH = 100;
/** Floor of the cap on steps of one pc-value table decode (the cap grows with the function's size). */
const MIN_PCVALUE_STEPS = 1024;

/**
 * Runtime functions the unwinder treats specially, matched by name (funcID
 * values change between releases).
 */
export const enum GoSpecial {
  /** An ordinary function. */
  None = 0,
  /** runtime.goexit */
  Goexit,
  /** runtime.mstart, runtime.mstart0 */
  Mstart,
  /** runtime.rt0_go */
  Rt0Go,
  /** runtime.systemstack */
  Systemstack,
  /** runtime.systemstack_switch */
  SystemstackSwitch,
  /** runtime.morestack, runtime.morestack_noctxt */
  Morestack,
  /** runtime.mcall */
  Mcall,
  /** runtime.asmcgocall, runtime.asmcgocall_landingpad */
  Asmcgocall,
  /** runtime.cgocallback */
  Cgocallback,
  /** runtime.sigtramp, runtime.sigreturn__sigaction */
  Sigtramp,
}

const SPECIAL_BY_NAME: ReadonlyMap<string, GoSpecial> = new Map([
  ["runtime.goexit", GoSpecial.Goexit],
  ["runtime.goexit.abi0", GoSpecial.Goexit],
  ["runtime.mstart", GoSpecial.Mstart],
  ["runtime.mstart0", GoSpecial.Mstart],
  ["runtime.rt0_go", GoSpecial.Rt0Go],
  ["runtime.systemstack", GoSpecial.Systemstack],
  ["runtime.systemstack.abi0", GoSpecial.Systemstack],
  ["runtime.systemstack_switch", GoSpecial.SystemstackSwitch],
  ["runtime.morestack", GoSpecial.Morestack],
  ["runtime.morestack_noctxt", GoSpecial.Morestack],
  ["runtime.morestack_noctxt.abi0", GoSpecial.Morestack],
  ["runtime.mcall", GoSpecial.Mcall],
  ["runtime.asmcgocall", GoSpecial.Asmcgocall],
  ["runtime.asmcgocall.abi0", GoSpecial.Asmcgocall],
  ["runtime.asmcgocall_landingpad", GoSpecial.Asmcgocall],
  ["runtime.cgocallback", GoSpecial.Cgocallback],
  ["runtime.cgocallback.abi0", GoSpecial.Cgocallback],
  ["runtime.sigtramp", GoSpecial.Sigtramp],
  ["runtime.sigreturn__sigaction", GoSpecial.Sigtramp],
]);

/** One symbolized frame, innermost first in a {@linkcode GoPclntab.symbolize} result. */
export interface GoFrame {
  /** Function name as the runtime reports it (`main.b`, `runtime.goexit`). */
  readonly functionName: string;
  /** Source file path. */
  readonly fileName: string;
  /** Source line (0 when unknown). */
  readonly line: number;
  /** True for a call inlined into the frame after it. */
  readonly inlined: boolean;
  /** Index of the physical function in functab. */
  readonly funcIndex: number;
}

/** How the text start was found. */
export type TextStartSource =
  | "header"
  | "moduledata"
  | "runtime.text"
  | ".text"
  | "option";

/** Options of {@linkcode parseGoPclntab}. */
export interface PclntabOptions {
  /** Text start to use instead of searching for it. */
  textStart?: number;
}

function bad(what: string, offset = -1): never {
  throw new BinaryFormatError(`Cannot read gopclntab: ${what}`, {
    offset,
    section: ".gopclntab",
  });
}

const utf8 = new TextDecoder("utf-8", { fatal: false });
const EMPTY: readonly GoFrame[] = Object.freeze([]);

/**
 * A parsed gopclntab. Pure function of the bytes it was given; lookups are
 * bounded and never throw on corrupt per-function data (they return `-1`,
 * `"?"` or fewer frames instead).
 */
export class GoPclntab {
  /** Magic of the table ({@linkcode PCLNTAB_MAGIC_120} or {@linkcode PCLNTAB_MAGIC_118}). */
  readonly magic: number;
  /** Instruction size quantum (1 on amd64, 4 on arm64). */
  readonly quantum: number;
  /** Pointer size. */
  readonly ptrSize: number;
  /** Number of functions. */
  readonly nfunc: number;
  /** Link-time address of the first byte of text. */
  readonly textStart: number;
  /** Where {@linkcode GoPclntab.textStart} came from. */
  readonly textStartSource: TextStartSource;
  /** Link-time address of `go:func.*` (funcdata base), when found. */
  readonly gofunc: number | undefined;
  /** Link-time address of the table's header. */
  readonly vaddr: number;
  /** Function entries as offsets from the text start; `nfunc + 1` long. */
  readonly entryOffs: Uint32Array;

  #b: Uint8Array;
  #v: DataView;
  #funcOffs: Uint32Array;
  #funcnametab: number;
  #cutab: number;
  #filetab: number;
  #pctab: number;
  #pclntable: number;
  #fixedSize: number;
  #names: (string | undefined)[];
  #special: Uint8Array;
  #files = new Map<number, string>();
  #gofuncBytes: { vaddr: number; bytes: Uint8Array } | undefined;
  #cache = new Map<number, readonly GoFrame[]>();

  /**
   * @param bytes The table, starting at its header.
   * @param vaddr Link-time address of the header.
   * @param textStart Text start, or `undefined` to take it from the header.
   * @param gofunc Funcdata base and the bytes there (from the ELF file).
   */
  constructor(
    bytes: Uint8Array,
    vaddr: number,
    textStart?: { value: number; source: TextStartSource },
    gofunc?: { vaddr: number; bytes: Uint8Array },
  ) {
    if (bytes.length < 8) bad("shorter than its header", 0);
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#b = bytes;
    this.#v = v;
    this.vaddr = vaddr;
    const magic = v.getUint32(0, true);
    this.magic = magic;
    if (magic !== PCLNTAB_MAGIC_120 && magic !== PCLNTAB_MAGIC_118) {
      const old = OLD_MAGICS[magic];
      if (old !== undefined) {
        bad(
          `magic 0x${
            magic.toString(16)
          } is the ${old} format, which denoprof does not support (Go 1.18 or later is needed)`,
          0,
        );
      }
      bad(`unknown magic 0x${magic.toString(16)}`, 0);
    }
    if (bytes[4] !== 0 || bytes[5] !== 0) bad("nonzero header padding", 4);
    this.quantum = bytes[6]!;
    this.ptrSize = bytes[7]!;
    if (this.quantum !== 1 && this.quantum !== 2 && this.quantum !== 4) {
      bad(`instruction quantum ${this.quantum}`, 6);
    }
    if (this.ptrSize !== 8 && this.ptrSize !== 4) {
      bad(`pointer size ${this.ptrSize}`, 7);
    }
    const ps = this.ptrSize;
    if (bytes.length < 8 + 8 * ps) bad("shorter than its header", 0);
    const word = (i: number) => {
      const o = 8 + i * ps;
      if (ps === 4) return v.getUint32(o, true);
      const lo = v.getUint32(o, true), hi = v.getUint32(o + 4, true);
      if (hi > 0x1fffff) bad(`header word ${i} out of range`, o);
      return hi * 0x100000000 + lo;
    };
    this.nfunc = word(0);
    const hdrText = word(2);
    this.#funcnametab = word(3);
    this.#cutab = word(4);
    this.#filetab = word(5);
    this.#pctab = word(6);
    this.#pclntable = word(7);
    for (
      const o of [
        this.#funcnametab,
        this.#cutab,
        this.#filetab,
        this.#pctab,
        this.#pclntable,
      ]
    ) {
      if (o > bytes.length) bad(`sub-table offset ${o} beyond the table`, 8);
    }
    if (textStart !== undefined) {
      this.textStart = textStart.value;
      this.textStartSource = textStart.source;
    } else if (hdrText !== 0) {
      this.textStart = hdrText;
      this.textStartSource = "header";
    } else {
      bad("text start is 0 in the header (Go 1.26+) and none was given");
    }
    // functab: nfunc+1 entries of {entryOff, funcOff} u32.
    const n = this.nfunc;
    if (n <= 0 || this.#pclntable + (n + 1) * 8 > bytes.length) {
      bad(`functab of ${n} functions does not fit`, this.#pclntable);
    }
    this.#fixedSize = magic === PCLNTAB_MAGIC_118 ? 40 : 44;
    const entryOffs = new Uint32Array(n + 1);
    const funcOffs = new Uint32Array(n);
    const limit = bytes.length - this.#pclntable;
    let prev = 0;
    for (let i = 0; i <= n; i++) {
      const o = this.#pclntable + i * 8;
      const e = v.getUint32(o, true);
      if (e < prev) bad(`functab not sorted at function ${i}`, o);
      prev = e;
      entryOffs[i] = e;
      if (i < n) {
        const f = v.getUint32(o + 4, true);
        if (f + this.#fixedSize > limit) {
          bad(`function ${i} record at ${f} beyond the table`, o + 4);
        }
        funcOffs[i] = f;
      }
    }
    this.entryOffs = entryOffs;
    this.#funcOffs = funcOffs;
    this.#names = new Array(n);
    this.#special = new Uint8Array(n).fill(255);
    this.gofunc = gofunc?.vaddr;
    this.#gofuncBytes = gofunc;
  }

  /** Link-time address of the end of text (the last functab entry). */
  get textEnd(): number {
    return this.textStart + this.entryOffs[this.nfunc]!;
  }

  /**
   * Index of the function containing `pc`, by binary search over functab.
   *
   * @param pc Link-time address.
   * @returns The index, or -1 outside the table's text.
   */
  findFunc(pc: number): number {
    const off = pc - this.textStart;
    const e = this.entryOffs;
    const n = this.nfunc;
    if (off < e[0]! || off >= e[n]!) return -1;
    let lo = 0, hi = n; // e[lo] <= off < e[hi]
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (e[mid]! <= off) lo = mid;
      else hi = mid;
    }
    return lo;
  }

  /** Entry address of function `i`. */
  funcEntry(i: number): number {
    return this.textStart + this.entryOffs[i]!;
  }

  /** End address (next function's entry) of function `i`. */
  funcEnd(i: number): number {
    return this.textStart + this.entryOffs[i + 1]!;
  }

  #fo(i: number): number {
    return this.#pclntable + this.#funcOffs[i]!;
  }

  /** Name of function `i` (`"?"` when the name offset is bad). */
  funcName(i: number): string {
    let s = this.#names[i];
    if (s === undefined) {
      s = this.#nameAt(this.#v.getInt32(this.#fo(i) + 4, true));
      this.#names[i] = s;
    }
    return s;
  }

  #nameAt(nameOff: number): string {
    const start = this.#funcnametab + nameOff;
    if (nameOff < 0 || start >= this.#b.length) return "?";
    const end = this.#b.indexOf(0, start);
    if (end < 0) return "?";
    return utf8.decode(this.#b.subarray(start, end));
  }

  /** `_func.flag` of function `i` ({@linkcode FUNC_FLAG_TOPFRAME}, ...). */
  funcFlag(i: number): number {
    return this.#b[this.#fo(i) + this.#fixedSize - 3]!;
  }

  /** `_func.funcID` of function `i` (values differ between releases). */
  funcID(i: number): number {
    return this.#b[this.#fo(i) + this.#fixedSize - 4]!;
  }

  /** `_func.startLine` (Go 1.20+; 0 for the 1.18 format). */
  funcStartLine(i: number): number {
    if (this.magic === PCLNTAB_MAGIC_118) return 0;
    return this.#v.getInt32(this.#fo(i) + 36, true);
  }

  /** Which special runtime function `i` is, by name. */
  special(i: number): GoSpecial {
    let k = this.#special[i]!;
    if (k === 255) {
      k = SPECIAL_BY_NAME.get(this.funcName(i)) ?? GoSpecial.None;
      this.#special[i] = k;
    }
    return k;
  }

  /**
   * Decodes the pc-value table at `tableOff` (relative to pctab) of function
   * `i` at `pc`.
   *
   * @returns The value, or -1 when the table is absent, corrupt or ends
   * before `pc`.
   */
  #pcvalue(i: number, tableOff: number, pc: number): number {
    if (tableOff === 0) return -1;
    const b = this.#b;
    let p = this.#pctab + tableOff;
    const end = b.length;
    let val = -1;
    let cur = this.textStart + this.entryOffs[i]!;
    const q = this.quantum;
    const maxSteps = MIN_PCVALUE_STEPS +
      2 * (this.entryOffs[i + 1]! - this.entryOffs[i]!);
    for (let step = 0; step < maxSteps; step++) {
      // value delta (zig-zag uvarint)
      if (p >= end) return -1;
      let c = b[p++]!;
      let uv = c & 0x7f;
      if (c & 0x80) {
        let mul = 128;
        do {
          if (p >= end || mul > 0x10000000) return -1;
          c = b[p++]!;
          uv += (c & 0x7f) * mul;
          mul *= 128;
        } while (c & 0x80);
      }
      if (uv === 0 && step > 0) return -1;
      val += (uv & 1) ? -((uv - 1) / 2) - 1 : uv / 2;
      // pc delta (uvarint)
      if (p >= end) return -1;
      c = b[p++]!;
      let pd = c & 0x7f;
      if (c & 0x80) {
        let mul = 128;
        do {
          if (p >= end || mul > 0x10000000) return -1;
          c = b[p++]!;
          pd += (c & 0x7f) * mul;
          mul *= 128;
        } while (c & 0x80);
      }
      cur += pd * q;
      if (pc < cur) return val;
    }
    return -1;
  }

  /** SP delta (bytes below the entry SP) of function `i` at `pc`, or -1. */
  pcsp(i: number, pc: number): number {
    return this.#pcvalue(i, this.#v.getUint32(this.#fo(i) + 16, true), pc);
  }

  /** File index (into the function's compilation unit) at `pc`, or -1. */
  pcfile(i: number, pc: number): number {
    return this.#pcvalue(i, this.#v.getUint32(this.#fo(i) + 20, true), pc);
  }

  /** Line at `pc`, or -1. */
  pcln(i: number, pc: number): number {
    return this.#pcvalue(i, this.#v.getUint32(this.#fo(i) + 24, true), pc);
  }

  /** PCDATA table `table` of function `i` at `pc`, or -1. */
  pcdata(i: number, table: number, pc: number): number {
    const fo = this.#fo(i);
    const npcdata = this.#v.getUint32(fo + 28, true);
    if (table >= npcdata) return -1;
    const at = fo + this.#fixedSize + 4 * table;
    if (at + 4 > this.#b.length) return -1;
    return this.#pcvalue(i, this.#v.getUint32(at, true), pc);
  }

  /** Address of FUNCDATA `index` of function `i`, or -1 (absent or no gofunc). */
  funcdata(i: number, index: number): number {
    if (this.gofunc === undefined) return -1;
    const fo = this.#fo(i);
    const nfuncdata = this.#b[fo + this.#fixedSize - 1]!;
    if (index >= nfuncdata) return -1;
    const npcdata = this.#v.getUint32(fo + 28, true);
    const at = fo + this.#fixedSize + 4 * npcdata + 4 * index;
    if (npcdata > 1 << 16 || at + 4 > this.#b.length) return -1;
    const off = this.#v.getUint32(at, true);
    if (off === 0xffffffff) return -1;
    return this.gofunc + off;
  }

  /** File name for file index `idx` of function `i`'s compilation unit. */
  fileName(i: number, idx: number): string {
    if (idx < 0) return "?";
    const cu = this.#v.getUint32(this.#fo(i) + 32, true);
    const key = cu + idx;
    let s = this.#files.get(key);
    if (s !== undefined) return s;
    const at = this.#cutab + 4 * key;
    s = "?";
    if (at + 4 <= this.#b.length) {
      const off = this.#v.getUint32(at, true);
      if (off !== 0xffffffff) {
        const start = this.#filetab + off;
        const end = start < this.#b.length ? this.#b.indexOf(0, start) : -1;
        if (end >= 0) s = utf8.decode(this.#b.subarray(start, end));
      }
    }
    this.#files.set(key, s);
    return s;
  }

  /** Reads inlined call `ix` of the tree at `tree`: [nameOff, parentPc] or undefined. */
  #inlCall(tree: number, ix: number): [number, number] | undefined {
    const g = this.#gofuncBytes;
    if (g === undefined || ix < 0) return undefined;
    const size = this.magic === PCLNTAB_MAGIC_118 ? 20 : 16;
    const at = tree - g.vaddr + ix * size;
    if (at < 0 || at + size > g.bytes.length) return undefined;
    const v = new DataView(g.bytes.buffer, g.bytes.byteOffset, g.bytes.length);
    if (size === 20) {
      return [v.getInt32(at + 12, true), v.getInt32(at + 16, true)];
    }
    return [v.getInt32(at + 4, true), v.getInt32(at + 8, true)];
  }

  /**
   * Frames at `pc`, innermost first: inlined calls (each with its own name
   * and file:line) then the physical function. Results are cached per pc.
   *
   * @param pc Link-time address.
   * @param isReturnAddress True when `pc` is a return address (not the
   * innermost frame): the call instruction's position (`pc − 1`) is used.
   * @returns The frames, empty when `pc` is outside the table.
   */
  symbolize(pc: number, isReturnAddress = false): readonly GoFrame[] {
    const q = isReturnAddress ? pc - 1 : pc;
    const hit = this.#cache.get(q);
    if (hit !== undefined) return hit;
    const out = this.#symbolizeUncached(q);
    if (this.#cache.size >= SYMBOLIZE_CACHE_MAX) this.#cache.clear();
    this.#cache.set(q, out);
    return out;
  }

  #symbolizeUncached(pc: number): readonly GoFrame[] {
    const i = this.findFunc(pc);
    if (i < 0) return EMPTY;
    const frames: GoFrame[] = [];
    const tree = this.funcdata(i, FUNCDATA_INL_TREE);
    let cur = pc;
    for (let depth = 0; depth < MAX_INLINE_DEPTH; depth++) {
      const ix = tree < 0 ? -1 : this.pcdata(i, PCDATA_INL_TREE_INDEX, cur);
      const call = ix >= 0 ? this.#inlCall(tree, ix) : undefined;
      const fileIdx = this.pcfile(i, cur);
      const line = this.pcln(i, cur);
      const frame = {
        functionName: call ? this.#nameAt(call[0]) : this.funcName(i),
        fileName: this.fileName(i, fileIdx),
        line: line < 0 ? 0 : line,
        inlined: call !== undefined,
        funcIndex: i,
      };
      frames.push(Object.freeze(frame));
      if (call === undefined) break;
      const next = this.funcEntry(i) + call[1];
      if (next < this.funcEntry(i) || next >= this.funcEnd(i)) break;
      cur = next;
    }
    return Object.freeze(frames);
  }
}

/** The moduledata fields denoprof reads. */
export interface GoModuledata {
  /** Link-time address of the moduledata. */
  readonly vaddr: number;
  /** `pcHeader` pointer. */
  readonly pcHeader: number;
  /** `text`. */
  readonly text: number;
  /** `etext`. */
  readonly etext: number;
  /** `gofunc` (go:func.*). */
  readonly gofunc: number;
}

function u64le(v: DataView, o: number): number {
  const lo = v.getUint32(o, true), hi = v.getUint32(o + 4, true);
  return hi > 0x1fffff ? -1 : hi * 0x100000000 + lo;
}

/**
 * Reads the moduledata at `at` of `bytes`, checking that it points at the
 * pclntab header at `pclnVaddr` (its first word) and at its funcnametab.
 */
function moduledataAt(
  bytes: Uint8Array,
  at: number,
  vaddr: number,
  pclnVaddr: number,
  funcnameOffset: number,
  magic: number,
): GoModuledata | undefined {
  // gofunc: word 38 before Go 1.20 (no covctrs), word 40 from 1.20.
  const gofuncWord = magic === PCLNTAB_MAGIC_118 ? 38 : 40;
  if (at < 0 || at + (gofuncWord + 1) * 8 > bytes.length) return undefined;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (u64le(v, at) !== pclnVaddr) return undefined;
  if (u64le(v, at + 8) !== pclnVaddr + funcnameOffset) return undefined;
  const text = u64le(v, at + 22 * 8), etext = u64le(v, at + 23 * 8);
  if (text <= 0 || etext < text) return undefined;
  return {
    vaddr,
    pcHeader: pclnVaddr,
    text,
    etext,
    gofunc: u64le(v, at + gofuncWord * 8),
  };
}

/**
 * Finds the module data of a Go ELF file: the `.go.module` section (Go 1.26),
 * the `runtime.firstmoduledata` symbol, or a scan of the data sections for a
 * word that points at the pclntab header.
 *
 * @param elf The file.
 * @param pcln Address, funcname offset and magic of the pclntab header.
 * @returns The fields, or `undefined` when not found (e.g. an externally
 * linked PIE whose moduledata is filled by dynamic relocations).
 */
export function findGoModuledata(
  elf: ElfFile,
  pcln: { vaddr: number; funcnameOffset: number; magic: number },
): GoModuledata | undefined {
  if (!elf.is64 || !elf.littleEndian) return undefined;
  const tryRange = (bytes: Uint8Array, base: number, step: number) => {
    for (let at = 0; at + 8 <= bytes.length; at += step) {
      const m = moduledataAt(
        bytes,
        at,
        base + at,
        pcln.vaddr,
        pcln.funcnameOffset,
        pcln.magic,
      );
      if (m !== undefined) return m;
    }
    return undefined;
  };
  const mod = elf.section(".go.module");
  if (mod !== undefined && mod.size > 0) {
    const m = tryRange(elf.sectionBytes(mod), mod.addr, 8);
    if (m) return m;
  }
  const sym = findSymbols(elf, ["runtime.firstmoduledata"]).get(
    "runtime.firstmoduledata",
  );
  if (sym !== undefined) {
    const b = readAtVaddr(elf, sym.value, 41 * 8);
    if (b !== undefined) {
      const m = tryRange(b.subarray(0, 8), sym.value, 8) ??
        moduledataAt(
          b,
          0,
          sym.value,
          pcln.vaddr,
          pcln.funcnameOffset,
          pcln.magic,
        );
      if (m) return m;
    }
  }
  for (const name of [".noptrdata", ".data", ".data.rel.ro"]) {
    const s = elf.section(name);
    if (s === undefined || s.size === 0 || s.size > 64 << 20) continue;
    const m = tryRange(elf.sectionBytes(s), s.addr, 8);
    if (m) return m;
  }
  return undefined;
}

/** Finds the pclntab bytes and address: section, symbol, or magic scan. */
function locatePclntab(
  elf: ElfFile,
): { bytes: Uint8Array; vaddr: number } | undefined {
  for (const name of [".gopclntab", ".data.rel.ro.gopclntab"]) {
    const s = elf.section(name);
    if (s !== undefined && s.size >= 8) {
      return { bytes: elf.sectionBytes(s), vaddr: s.addr };
    }
  }
  const syms = findSymbols(elf, ["runtime.pclntab", "runtime.epclntab"]);
  const start = syms.get("runtime.pclntab"), end = syms.get("runtime.epclntab");
  if (start !== undefined && end !== undefined && end.value > start.value) {
    const b = readAtVaddr(elf, start.value, end.value - start.value);
    if (b !== undefined) return { bytes: b, vaddr: start.value };
  }
  // Bounded scan of read-only segments for `f0|f1 ff ff ff 00 00 q ps`.
  for (const p of elf.programHeaders) {
    if (p.type !== PT_LOAD || (p.flags & 1) !== 0 || p.filesz < 64) continue;
    const n = Math.min(p.filesz, PCLNTAB_SCAN_LIMIT);
    const b = elf.source.read(p.offset, n);
    for (let at = 0; at + 64 <= b.length; at += 8) {
      if (
        (b[at] === 0xf1 || b[at] === 0xf0) && b[at + 1] === 0xff &&
        b[at + 2] === 0xff && b[at + 3] === 0xff && b[at + 4] === 0 &&
        b[at + 5] === 0 && (b[at + 6] === 1 || b[at + 6] === 4) &&
        (b[at + 7] === 8 || b[at + 7] === 4)
      ) {
        return { bytes: b.subarray(at), vaddr: p.vaddr + at };
      }
    }
  }
  return undefined;
}

/**
 * Finds and parses the gopclntab of a Go ELF file, with the text start and
 * the funcdata base (for inlined frames) resolved from the header, the
 * moduledata, or symbols.
 *
 * @param elf The file.
 * @param options A known text start.
 * @returns The table.
 * @throws {BinaryFormatError} when no table is found, the format is older
 * than Go 1.18, or the header is malformed.
 *
 * @example Symbolize an address of a Go binary
 * ```ts ignore
 * import { parseGoPclntab } from "./pclntab.ts";
 * import { parseElf } from "../elf/mod.ts";
 * import { FileSource } from "../binary/mod.ts";
 * const elf = parseElf(new FileSource("/usr/local/go/bin/go"));
 * const tab = parseGoPclntab(elf);
 * console.log(tab.symbolize(elf.entry)[0]?.functionName); // _rt0_amd64_linux
 * ```
 */
export function parseGoPclntab(
  elf: ElfFile,
  options: PclntabOptions = {},
): GoPclntab {
  const found = locatePclntab(elf);
  if (found === undefined) {
    throw new BinaryFormatError(
      `Cannot read gopclntab of ${elf.source.name}: no .gopclntab section, runtime.pclntab symbol or table magic found`,
      { section: ".gopclntab" },
    );
  }
  const { bytes, vaddr } = found;
  // Validate the header first (refuses old magics with a clear message).
  const probe = new GoPclntab(bytes, vaddr, { value: 0, source: "option" });
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hdrText = probe.ptrSize === 8 ? u64le(v, 24) : v.getUint32(16, true);
  const funcnameOffset = probe.ptrSize === 8
    ? u64le(v, 32)
    : v.getUint32(20, true);
  const md = findGoModuledata(elf, {
    vaddr,
    funcnameOffset,
    magic: probe.magic,
  });
  let text: { value: number; source: TextStartSource } | undefined;
  if (options.textStart !== undefined) {
    text = { value: options.textStart, source: "option" };
  } else if (hdrText > 0) {
    text = { value: hdrText, source: "header" };
  } else if (md !== undefined) {
    text = { value: md.text, source: "moduledata" };
  } else {
    const sym = findSymbols(elf, ["runtime.text"]).get("runtime.text");
    if (sym !== undefined) text = { value: sym.value, source: "runtime.text" };
    else {
      const t = elf.section(".text");
      if (t !== undefined) text = { value: t.addr, source: ".text" };
    }
  }
  if (text === undefined) {
    throw new BinaryFormatError(
      `Cannot read gopclntab of ${elf.source.name}: the text start is not in the header and no moduledata, runtime.text or .text gives it`,
      { section: ".gopclntab" },
    );
  }
  let gofuncAddr = md !== undefined && md.gofunc > 0 ? md.gofunc : undefined;
  if (gofuncAddr === undefined) {
    const syms = findSymbols(elf, ["go:func.*", "go.func.*"]);
    gofuncAddr = (syms.get("go:func.*") ?? syms.get("go.func.*"))?.value;
  }
  let gofunc: { vaddr: number; bytes: Uint8Array } | undefined;
  if (gofuncAddr !== undefined) {
    gofunc = gofuncBytes(elf, gofuncAddr);
  }
  return new GoPclntab(bytes, vaddr, text, gofunc);
}

/** Bytes from the funcdata base to the end of its section or segment. */
function gofuncBytes(
  elf: ElfFile,
  vaddr: number,
): { vaddr: number; bytes: Uint8Array } | undefined {
  for (const s of elf.sections) {
    if (s.addr === 0 || s.type === 8) continue;
    if (vaddr >= s.addr && vaddr < s.addr + s.size) {
      const b = elf.sectionBytes(s);
      return { vaddr, bytes: b.subarray(vaddr - s.addr) };
    }
  }
  for (const p of elf.programHeaders) {
    if (p.type !== PT_LOAD) continue;
    if (vaddr >= p.vaddr && vaddr < p.vaddr + p.filesz) {
      const n = p.vaddr + p.filesz - vaddr;
      const b = readAtVaddr(elf, vaddr, n);
      if (b !== undefined) return { vaddr, bytes: b };
    }
  }
  return undefined;
}
