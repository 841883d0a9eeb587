/**
 * Constants and result types of the gopclntab format: header magics,
 * `_func.flag` bits, the PCDATA and FUNCDATA indices of the inline tree,
 * the reader's limits, and the frame shape `GoPclntab.symbolize`
 * returns.
 *
 * @module
 */
/** Magic of Go 1.20 and later tables. */
export const PCLNTAB_MAGIC_120 = 0xfffffff1;
/** Magic of Go 1.18 and 1.19 tables. */
export const PCLNTAB_MAGIC_118 = 0xfffffff0;

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

/** One symbolized frame, innermost first in a `GoPclntab.symbolize` result. */
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

/** Options of `parseGoPclntab`. */
export interface PclntabOptions {
  /** Text start to use instead of searching for it. */
  textStart?: number;
}
