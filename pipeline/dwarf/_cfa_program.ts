/**
 * The CFA program interpreter: runs the `DW_CFA_*` instructions of a CIE's
 * initial program and an FDE's program over a {@linkcode RuleState},
 * emitting a row at every advance of the location.
 *
 * Untrusted input: every loop consumes bytes and the remember-state stack is
 * capped at {@linkcode MAX_STATE_STACK}.
 *
 * @module
 */
import { BinaryFormatError, ByteReader } from "../binary/mod.ts";
import {
  CfaKind,
  type CfiArch,
  type CfiRow,
  RegKind,
  type RuleState,
} from "./cfi_rules.ts";
import type { CfiBases, Cie } from "./_cie.ts";
import { readEncodedPointer } from "./encoded_pointer.ts";
import { cfaExpression, matchBreg } from "./_cfa_expression.ts";

/** Nesting limit of DW_CFA_remember_state. */
export const MAX_STATE_STACK = 64;

/** Executes CFA instructions over a rule state. */
export class CfaProgram {
  #cie: Cie;
  #arch: CfiArch;
  #bases: CfiBases;
  #le: boolean;
  constructor(
    cie: Cie,
    arch: CfiArch,
    bases: CfiBases,
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
