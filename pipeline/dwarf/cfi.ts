/**
 * Call frame information (CFI) parsing: `.eh_frame` and `.debug_frame` CIEs
 * and FDEs, and execution of their CFA programs into rows of the three rules
 * an unwinder needs (CFA, return address, frame pointer).
 *
 * Glossary:
 * - CFA (canonical frame address): the value of the stack pointer in the
 *   caller just before the call instruction. Every saved register is found
 *   at an offset from it.
 * - CIE (common information entry): shared defaults of many FDEs: alignment
 *   factors, the return address column, the augmentation (`z` = has
 *   augmentation data, `R` = FDE pointer encoding, `P` = personality,
 *   `L` = LSDA encoding, `S` = signal trampoline) and initial instructions.
 * - FDE (frame description entry): a pc range and the instructions that
 *   change the rules as the pc advances through it.
 * - Row: the rules valid from one pc up to the next row's pc.
 *
 * All input is untrusted: every loop consumes bytes, the remember-state stack
 * is capped, and a malformed FDE is skipped (and counted) rather than failing
 * the whole file.
 *
 * @module
 */
import { BinaryFormatError, ByteReader } from "../binary/mod.ts";

/** How the CFA of a row is computed. */
export const CfaKind = {
  /** No FDE covers this pc (a gap between FDEs). */
  NONE: 0,
  /** `cfa = reg + offset`. */
  REG_OFFSET: 1,
  /** `cfa = *(reg + offset)` (gcc's stack realignment prologue in main). */
  DEREF: 2,
  /** amd64 PLT: `cfa = rsp + offset + ((pc & 15) >= reg ? 8 : 0)`; `reg` holds the threshold. */
  PLT: 3,
  /** A signal trampoline (`S` augmentation): registers come from the signal frame. */
  SIGNAL: 4,
  /** An expression we do not recognize: the unwinder stops with a reason. */
  UNSUPPORTED: 5,
} as const;

/** How a register (return address, frame pointer) of the caller is recovered. */
export const RegKind = {
  /** Unchanged from the callee (for the return address: it is in the link register). */
  SAME: 0,
  /** Saved at `cfa + offset`. */
  OFFSET: 1,
  /** Not recoverable; for the return address this marks the outermost frame. */
  UNDEFINED: 2,
  /** The value is `cfa + offset`. */
  VAL_OFFSET: 3,
  /** Held in register number `offset`. */
  REGISTER: 4,
  /** Saved at `fp + offset` (the frame pointer of the callee). */
  AT_FP: 5,
  /** An expression we do not recognize. */
  UNSUPPORTED: 6,
} as const;

/** Mutable rule state while running a CFA program. */
export interface RuleState {
  cfaKind: number;
  cfaReg: number;
  cfaOffset: number;
  raKind: number;
  raOffset: number;
  fpKind: number;
  fpOffset: number;
}

/** A row before it is packed into the table. */
export interface CfiRow extends RuleState {
  /** First pc (vaddr) the row applies to. */
  pc: number;
}

/** An FDE's rows over `[start, end)`. */
export interface FdeRows {
  /** First pc. */
  start: number;
  /** One past the last pc. */
  end: number;
  /** Rows in pc order, the first at `start`. */
  rows: CfiRow[];
}

/** Architecture facts the CFA program needs. */
export interface CfiArch {
  /** Bytes of an address (`absptr`). */
  readonly addressSize: number;
  /** DWARF number of the frame pointer register (rbp = 6, x29 = 29). */
  readonly fpReg: number;
  /** DWARF number of the stack pointer (rsp = 7, sp = 31). */
  readonly spReg: number;
}

/** What parsing one CFI section produced. */
export interface CfiParseResult {
  /** FDEs with their rows. */
  readonly fdes: FdeRows[];
  /** FDEs (or CIEs) skipped because they were malformed or unsupported. */
  readonly skipped: number;
}

/** Nesting limit of DW_CFA_remember_state. */
const MAX_STATE_STACK = 64;

interface Cie {
  codeAlign: number;
  dataAlign: number;
  raReg: number;
  fdeEncoding: number;
  hasAugData: boolean;
  signal: boolean;
  addressSize: number;
  initial: Uint8Array;
}

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

function u64Lenient(r: ByteReader): number {
  const a = r.u32();
  const b = r.u32();
  const [lo, hi] = r.littleEndian ? [a, b] : [b, a];
  return hi > 0x1fffff ? Number.NaN : hi * 0x100000000 + lo;
}

function i64Lenient(r: ByteReader): number {
  const a = r.u32();
  const b = r.u32();
  const [lo, hi] = r.littleEndian ? [a, b] : [b, a];
  const shi = hi | 0;
  const v = shi * 0x100000000 + lo;
  return Number.isSafeInteger(v) ? v : Number.NaN;
}

/**
 * Parses a whole `.eh_frame` or `.debug_frame` section into FDE rows.
 *
 * @param bytes Section contents.
 * @param options `ehFrame` selects the `.eh_frame` dialect; `vaddr` is the
 *   section's address (pcrel base); `littleEndian`, `arch`.
 * @returns FDE rows and the number of skipped entries.
 *
 * @example An empty section has no FDEs
 * ```ts
 * import { parseCfiSection } from "./cfi.ts";
 * const res = parseCfiSection(new Uint8Array(4), {
 *   ehFrame: true, vaddr: 0, littleEndian: true,
 *   arch: { addressSize: 8, fpReg: 6, spReg: 7 },
 * });
 * console.assert(res.fdes.length === 0);
 * ```
 */
export function parseCfiSection(
  bytes: Uint8Array,
  options: {
    ehFrame: boolean;
    vaddr: number;
    littleEndian: boolean;
    arch: CfiArch;
    textBase?: number;
    dataBase?: number;
  },
): CfiParseResult {
  const { ehFrame, arch } = options;
  const section = ehFrame ? ".eh_frame" : ".debug_frame";
  const r = new ByteReader(bytes, {
    littleEndian: options.littleEndian,
    section,
  });
  const cies = new Map<number, Cie | null>();
  const fdes: FdeRows[] = [];
  let skipped = 0;
  const bases = {
    pc: options.vaddr,
    text: options.textBase ?? 0,
    data: options.dataBase ?? 0,
  };

  const parseCie = (off: number): Cie | null => {
    if (cies.has(off)) return cies.get(off)!;
    let cie: Cie | null = null;
    try {
      cie = readCie(
        r.bytes,
        off,
        options.littleEndian,
        ehFrame,
        arch.addressSize,
        bases,
      );
    } catch (err) {
      if (!(err instanceof BinaryFormatError)) throw err;
    }
    if (cie === null) skipped++;
    cies.set(off, cie);
    return cie;
  };

  // Each iteration consumes at least 4 bytes, so the walk is bounded.
  while (r.remaining >= 4) {
    const start = r.pos;
    let length = r.u32();
    if (length === 0) {
      if (ehFrame) break; // terminator
      continue;
    }
    let is64 = false;
    if (length === 0xffffffff) {
      if (r.remaining < 8) break;
      length = u64Lenient(r);
      is64 = true;
    }
    if (!Number.isSafeInteger(length) || length > r.remaining) break;
    const bodyStart = r.pos;
    const end = bodyStart + length;
    const idPos = r.pos;
    const idSize = is64 && !ehFrame ? 8 : 4;
    if (length < idSize) break;
    const id = idSize === 8 ? u64Lenient(r) : r.u32();
    const isCie = ehFrame
      ? id === 0
      : (idSize === 8 ? Number.isNaN(id) : id === 0xffffffff);
    if (isCie) {
      parseCie(start);
    } else {
      const cieOff = ehFrame ? idPos - id : id;
      const cie =
        Number.isSafeInteger(cieOff) && cieOff >= 0 && cieOff < bytes.length
          ? parseCie(cieOff)
          : null;
      if (cie === null) {
        skipped++;
      } else {
        try {
          const fde = readFde(
            r.bytes.subarray(0, end),
            r.pos,
            cie,
            arch,
            bases,
            options.littleEndian,
          );
          if (fde !== null) fdes.push(fde);
          else skipped++;
        } catch (err) {
          if (!(err instanceof BinaryFormatError)) throw err;
          skipped++;
        }
      }
    }
    r.pos = end;
  }
  return { fdes, skipped };
}

function readCie(
  bytes: Uint8Array,
  off: number,
  littleEndian: boolean,
  ehFrame: boolean,
  addressSize: number,
  bases: { pc: number; data: number; text: number },
): Cie | null {
  const r = new ByteReader(bytes, { littleEndian, pos: off, section: "CIE" });
  let length = r.u32();
  let is64 = false;
  if (length === 0xffffffff) {
    length = u64Lenient(r);
    is64 = true;
  }
  if (!Number.isSafeInteger(length) || length > r.remaining || length === 0) {
    return null;
  }
  const end = r.pos + length;
  const sub = new ByteReader(bytes.subarray(0, end), {
    littleEndian,
    pos: r.pos,
    section: "CIE",
  });
  const id = is64 && !ehFrame ? u64Lenient(sub) : sub.u32();
  if (ehFrame ? id !== 0 : !(id === 0xffffffff || Number.isNaN(id))) {
    return null;
  }
  const version = sub.u8();
  if (version !== 1 && version !== 3 && version !== 4) return null;
  const aug = sub.cstring();
  let addrSize = addressSize;
  if (version === 4) {
    addrSize = sub.u8();
    const segSize = sub.u8();
    if (segSize !== 0 || (addrSize !== 4 && addrSize !== 8)) return null;
  }
  if (aug.includes("eh")) sub.skip(addrSize); // ancient GCC eh_data pointer
  const codeAlign = sub.uleb();
  const dataAlign = sub.sleb();
  const raReg = version === 1 ? sub.u8() : sub.uleb();
  const cie: Cie = {
    codeAlign,
    dataAlign,
    raReg,
    fdeEncoding: 0,
    hasAugData: false,
    signal: false,
    addressSize: addrSize,
    initial: new Uint8Array(0),
  };
  if (aug.startsWith("z")) {
    cie.hasAugData = true;
    const augLen = sub.uleb();
    const augEnd = sub.pos + augLen;
    if (augEnd > end) return null;
    for (let i = 1; i < aug.length; i++) {
      const c = aug[i];
      if (c === "R") cie.fdeEncoding = sub.u8();
      else if (c === "L") sub.u8();
      else if (c === "P") {
        const enc = sub.u8();
        readEncodedPointer(sub, enc & 0x7f, bases, addrSize);
      } else if (c === "S") cie.signal = true;
      else if (c === "B" || c === "G") {
        // arm64 BTI / MTE markers: no data
      } else break; // unknown: the length lets us skip the rest
    }
    sub.pos = augEnd;
  } else if (aug !== "" && aug !== "eh") {
    return null; // unknown augmentation without size: cannot parse safely
  }
  if (codeAlign === 0) return null;
  cie.initial = bytes.subarray(sub.pos, end);
  return cie;
}

function readFde(
  bytes: Uint8Array,
  pos: number,
  cie: Cie,
  arch: CfiArch,
  bases: { pc: number; data: number; text: number },
  littleEndian: boolean,
): FdeRows | null {
  const r = new ByteReader(bytes, { littleEndian, pos, section: "FDE" });
  const start = readEncodedPointer(r, cie.fdeEncoding, bases, cie.addressSize);
  const range = readEncodedPointer(
    r,
    cie.fdeEncoding & 0x0f,
    bases,
    cie.addressSize,
  );
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(range)) return null;
  if (range <= 0 || start === 0) return null; // discarded (e.g. by --gc-sections)
  if (cie.hasAugData) r.skip(r.uleb());
  const end = start + range;
  const init: RuleState = {
    cfaKind: CfaKind.UNSUPPORTED,
    cfaReg: 0,
    cfaOffset: 0,
    raKind: RegKind.SAME,
    raOffset: 0,
    fpKind: RegKind.SAME,
    fpOffset: 0,
  };
  const ctx = new CfaProgram(cie, arch, bases, littleEndian);
  ctx.run(cie.initial, init, start, end, null);
  const initial = { ...init };
  const rows: CfiRow[] = [];
  ctx.run(bytes.subarray(r.pos), init, start, end, { rows, initial });
  if (cie.signal) {
    for (const row of rows) row.cfaKind = CfaKind.SIGNAL;
  }
  return { start, end, rows };
}

/** Executes CFA instructions over a rule state. */
class CfaProgram {
  #cie: Cie;
  #arch: CfiArch;
  #bases: { pc: number; data: number; text: number };
  #le: boolean;
  constructor(
    cie: Cie,
    arch: CfiArch,
    bases: { pc: number; data: number; text: number },
    littleEndian: boolean,
  ) {
    this.#cie = cie;
    this.#arch = arch;
    this.#bases = bases;
    this.#le = littleEndian;
  }

  /**
   * Runs `code`. With `out`, rows are emitted at every advance (the FDE
   * program); without it only the state changes (the CIE's initial program).
   */
  run(
    code: Uint8Array,
    s: RuleState,
    start: number,
    end: number,
    out: { rows: CfiRow[]; initial: RuleState } | null,
  ): void {
    const cie = this.#cie;
    const arch = this.#arch;
    const r = new ByteReader(code, {
      littleEndian: this.#le,
      section: "CFA program",
    });
    const stack: RuleState[] = [];
    let loc = start;
    const emit = (next: number) => {
      if (out === null) return;
      const rows = out.rows;
      const last = rows[rows.length - 1];
      if (last !== undefined && last.pc === loc) rows.pop();
      const prev = rows[rows.length - 1];
      if (prev === undefined || !sameRules(prev, s)) {
        rows.push({ pc: loc, ...s });
      }
      loc = next;
    };
    const setReg = (reg: number, kind: number, off: number) => {
      if (reg === cie.raReg) {
        s.raKind = kind;
        s.raOffset = off;
      } else if (reg === arch.fpReg) {
        s.fpKind = kind;
        s.fpOffset = off;
      }
    };
    const restoreReg = (reg: number) => {
      const init = out?.initial;
      if (init === undefined) return setReg(reg, RegKind.SAME, 0);
      if (reg === cie.raReg) setReg(reg, init.raKind, init.raOffset);
      else if (reg === arch.fpReg) setReg(reg, init.fpKind, init.fpOffset);
    };
    const advance = (delta: number) => {
      const next = loc + delta * cie.codeAlign;
      if (next >= end) return false;
      emit(next);
      return true;
    };
    while (r.remaining > 0) {
      const op = r.u8();
      const hi = op & 0xc0;
      const low = op & 0x3f;
      if (hi === 0x40) {
        if (!advance(low)) return finish();
        continue;
      }
      if (hi === 0x80) {
        setReg(low, RegKind.OFFSET, r.uleb() * cie.dataAlign);
        continue;
      }
      if (hi === 0xc0) {
        restoreReg(low);
        continue;
      }
      switch (op) {
        case 0x00: // nop
          break;
        case 0x01: { // set_loc
          const to = readEncodedPointer(
            r,
            cie.fdeEncoding,
            this.#bases,
            cie.addressSize,
          );
          if (!(to >= loc)) throw bad(r, "DW_CFA_set_loc moves backwards");
          if (to >= end) return finish();
          emit(to);
          break;
        }
        case 0x02:
          if (!advance(r.u8())) return finish();
          break;
        case 0x03:
          if (!advance(r.u16())) return finish();
          break;
        case 0x04:
          if (!advance(r.u32())) return finish();
          break;
        case 0x05: // offset_extended
          setReg(r.uleb(), RegKind.OFFSET, r.uleb() * cie.dataAlign);
          break;
        case 0x06: // restore_extended
          restoreReg(r.uleb());
          break;
        case 0x07: // undefined
          setReg(r.uleb(), RegKind.UNDEFINED, 0);
          break;
        case 0x08: // same_value
          setReg(r.uleb(), RegKind.SAME, 0);
          break;
        case 0x09: { // register
          const reg = r.uleb();
          setReg(reg, RegKind.REGISTER, r.uleb());
          break;
        }
        case 0x0a: // remember_state
          if (stack.length >= MAX_STATE_STACK) {
            throw bad(r, "remember_state nests too deep");
          }
          stack.push({ ...s });
          break;
        case 0x0b: { // restore_state
          const saved = stack.pop();
          if (saved === undefined) {
            throw bad(r, "restore_state without remember_state");
          }
          Object.assign(s, saved);
          break;
        }
        case 0x0c: // def_cfa
          s.cfaKind = CfaKind.REG_OFFSET;
          s.cfaReg = r.uleb();
          s.cfaOffset = r.uleb();
          break;
        case 0x0d: // def_cfa_register
          s.cfaReg = r.uleb();
          if (s.cfaKind !== CfaKind.REG_OFFSET) s.cfaKind = CfaKind.UNSUPPORTED;
          break;
        case 0x0e: // def_cfa_offset
          s.cfaOffset = r.uleb();
          if (s.cfaKind !== CfaKind.REG_OFFSET) s.cfaKind = CfaKind.UNSUPPORTED;
          break;
        case 0x0f: // def_cfa_expression
          cfaExpression(r.subarray(r.uleb()), s);
          break;
        case 0x10: { // expression
          const reg = r.uleb();
          const expr = r.subarray(r.uleb());
          const m = matchBreg(expr);
          if (
            m !== undefined && m.reg === arch.fpReg && m.end === expr.length
          ) {
            setReg(reg, RegKind.AT_FP, m.offset);
          } else setReg(reg, RegKind.UNSUPPORTED, 0);
          break;
        }
        case 0x11: // offset_extended_sf
          setReg(r.uleb(), RegKind.OFFSET, r.sleb() * cie.dataAlign);
          break;
        case 0x12: // def_cfa_sf
          s.cfaKind = CfaKind.REG_OFFSET;
          s.cfaReg = r.uleb();
          s.cfaOffset = r.sleb() * cie.dataAlign;
          break;
        case 0x13: // def_cfa_offset_sf
          s.cfaOffset = r.sleb() * cie.dataAlign;
          if (s.cfaKind !== CfaKind.REG_OFFSET) s.cfaKind = CfaKind.UNSUPPORTED;
          break;
        case 0x14: // val_offset
          setReg(r.uleb(), RegKind.VAL_OFFSET, r.uleb() * cie.dataAlign);
          break;
        case 0x15: // val_offset_sf
          setReg(r.uleb(), RegKind.VAL_OFFSET, r.sleb() * cie.dataAlign);
          break;
        case 0x16: { // val_expression
          const reg = r.uleb();
          r.skip(r.uleb());
          setReg(reg, RegKind.UNSUPPORTED, 0);
          break;
        }
        case 0x2d: // GNU_window_save / AARCH64_negate_ra_state: pointer auth, stripped at unwind time
          break;
        case 0x2e: // GNU_args_size
          r.uleb();
          break;
        case 0x2f: // GNU_negative_offset_extended
          setReg(r.uleb(), RegKind.OFFSET, -r.uleb() * cie.dataAlign);
          break;
        default:
          throw bad(r, `unknown CFA instruction 0x${op.toString(16)}`);
      }
      if (
        !Number.isSafeInteger(s.cfaOffset) || Math.abs(s.cfaOffset) > 0x7fffffff
      ) {
        s.cfaKind = CfaKind.UNSUPPORTED;
        s.cfaOffset = 0;
      }
    }
    return finish();

    function finish(): void {
      if (out === null) return;
      emit(end);
    }
  }
}

function bad(r: ByteReader, what: string): BinaryFormatError {
  return new BinaryFormatError(`Cannot run CFA program: ${what}`, {
    offset: r.pos,
    section: r.section,
  });
}

function sameRules(a: RuleState, b: RuleState): boolean {
  return a.cfaKind === b.cfaKind && a.cfaReg === b.cfaReg &&
    a.cfaOffset === b.cfaOffset && a.raKind === b.raKind &&
    a.raOffset === b.raOffset && a.fpKind === b.fpKind &&
    a.fpOffset === b.fpOffset;
}

/** Matches `DW_OP_breg<n> sleb` or `DW_OP_bregx uleb sleb` at the start of `e`. */
function matchBreg(
  e: Uint8Array,
): { reg: number; offset: number; end: number } | undefined {
  const op = e[0];
  if (op === undefined) return undefined;
  const r = new ByteReader(e, { pos: 1, section: "DWARF expression" });
  try {
    if (op >= 0x70 && op <= 0x8f) {
      return { reg: op - 0x70, offset: r.sleb(), end: r.pos };
    }
    if (op === 0x92) {
      const reg = r.uleb();
      return { reg, offset: r.sleb(), end: r.pos };
    }
  } catch (err) {
    if (!(err instanceof BinaryFormatError)) throw err;
  }
  return undefined;
}

/** The x86-64 PLT expression after its leading `DW_OP_breg7 N`. */
const PLT_TAIL = [0x80, 0x00, 0x3f, 0x1a, -1, 0x2a, 0x33, 0x24, 0x22];

/** Maps a CFA expression to a known shape, else UNSUPPORTED. */
function cfaExpression(e: Uint8Array, s: RuleState): void {
  s.cfaKind = CfaKind.UNSUPPORTED;
  s.cfaReg = 0;
  s.cfaOffset = 0;
  const m = matchBreg(e);
  if (m === undefined) return;
  const rest = e.subarray(m.end);
  if (rest.length === 0) {
    s.cfaKind = CfaKind.REG_OFFSET;
  } else if (rest.length === 1 && rest[0] === 0x06) {
    s.cfaKind = CfaKind.DEREF; // DW_OP_deref
  } else if (rest.length === PLT_TAIL.length && m.reg === 7) {
    for (let i = 0; i < rest.length; i++) {
      if (PLT_TAIL[i] === -1) {
        const lit = rest[i]!;
        if (lit < 0x30 || lit > 0x4f) return; // DW_OP_lit0..31
      } else if (rest[i] !== PLT_TAIL[i]) return;
    }
    s.cfaKind = CfaKind.PLT;
    s.cfaReg = rest[4]! - 0x30; // threshold on (rip & 15)
    s.cfaOffset = m.offset;
    return;
  } else {
    return;
  }
  s.cfaReg = m.reg;
  s.cfaOffset = m.offset;
}
