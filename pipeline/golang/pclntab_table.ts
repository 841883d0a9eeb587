/**
 * The {@linkcode GoPclntab} lookups over a validated table: functab search,
 * `_func` fields (name, flags, funcID, start line), pc-value tables (pcsp,
 * pcfile, pcln, pcdata), funcdata, file names, and per-pc symbolization with
 * inlined frames behind a bounded cache.
 *
 * @module
 */
import { GoSpecial, SPECIAL_BY_NAME } from "./_special.ts";
import {
  FUNCDATA_INL_TREE,
  type GoFrame,
  MAX_INLINE_DEPTH,
  PCDATA_INL_TREE_INDEX,
  PCLNTAB_MAGIC_118,
  SYMBOLIZE_CACHE_MAX,
  type TextStartSource,
} from "./pclntab_format.ts";
import {
  pclntabError,
  readFunctab,
  readPclntabHeader,
} from "./_pclntab_header.ts";
import { decodePcValue, MIN_PCVALUE_STEPS } from "./_pcvalue.ts";
import { readInlinedCall } from "./_inline_tree.ts";

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
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#b = bytes;
    this.#v = v;
    this.vaddr = vaddr;
    const h = readPclntabHeader(bytes, v);
    this.magic = h.magic;
    this.quantum = h.quantum;
    this.ptrSize = h.ptrSize;
    this.nfunc = h.nfunc;
    this.#funcnametab = h.funcnametab;
    this.#cutab = h.cutab;
    this.#filetab = h.filetab;
    this.#pctab = h.pctab;
    this.#pclntable = h.pclntable;
    if (textStart !== undefined) {
      this.textStart = textStart.value;
      this.textStartSource = textStart.source;
    } else if (h.hdrText !== 0) {
      this.textStart = h.hdrText;
      this.textStartSource = "header";
    } else {
      pclntabError(
        "text start is 0 in the header (Go 1.26+) and none was given",
      );
    }
    const ft = readFunctab(bytes, v, h);
    this.#fixedSize = ft.fixedSize;
    this.entryOffs = ft.entryOffs;
    this.#funcOffs = ft.funcOffs;
    const n = this.nfunc;
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
    const e = this.entryOffs;
    return decodePcValue(
      this.#b,
      this.#pctab + tableOff,
      this.textStart + e[i]!,
      this.quantum,
      MIN_PCVALUE_STEPS + 2 * (e[i + 1]! - e[i]!),
      pc,
    );
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
      const call = ix >= 0
        ? readInlinedCall(this.#gofuncBytes, this.magic, tree, ix)
        : undefined;
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
