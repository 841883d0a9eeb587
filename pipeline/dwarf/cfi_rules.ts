/**
 * The rule vocabulary of call frame information: how a row computes the CFA
 * and recovers the return address and frame pointer, and the shapes
 * `parseCfiSection` returns.
 *
 * Glossary:
 * - CFA (canonical frame address): the value of the stack pointer in the
 *   caller just before the call instruction. Every saved register is found
 *   at an offset from it.
 * - Row: the rules valid from one pc up to the next row's pc.
 *
 * @module
 */
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
