/**
 * Recognizes the few DWARF expressions of CFA programs that an unwinder can
 * evaluate without a stack machine: `breg`, `breg; deref` and the x86-64 PLT
 * expression.
 *
 * @module
 */
import { BinaryFormatError, ByteReader } from "../binary/mod.ts";
import { CfaKind, type RuleState } from "./cfi_rules.ts";

/** Matches `DW_OP_breg<n> sleb` or `DW_OP_bregx uleb sleb` at the start of `e`. */
export function matchBreg(
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
export function cfaExpression(e: Uint8Array, s: RuleState): void {
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
