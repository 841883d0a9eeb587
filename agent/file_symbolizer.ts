/**
 * Picks the symbolizer of an object file: Go's pclntab for Go binaries
 * (with inlined frames), native symbol tables, line tables and demangling for
 * everything else.
 *
 * @module
 */
import type { ObjectFile } from "../pipeline/proc/mod.ts";
import {
  elfSymbolTableSymbolizer,
  type FileSymbolizer,
} from "../pipeline/symbolize/symbolizer.ts";

/**
 * Builds the symbolizer of one file.
 *
 * @param file The object file.
 * @returns Its symbolizer.
 */
export function fileSymbolizer(file: ObjectFile): FileSymbolizer {
  return elfSymbolTableSymbolizer(file);
}
