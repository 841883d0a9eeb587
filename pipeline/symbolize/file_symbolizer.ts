/**
 * The default {@linkcode FileSymbolizerFactory}: Go's pclntab for pcs in Go
 * text (inlined calls expanded, `go` frames), the native symbolizer (symbol
 * tables, debug files, `.debug_line`, demangling) for everything else —
 * including the C half of a cgo binary.
 *
 * @module
 */
import { goBinaryOf, nativeSymbolizerOf } from "../objects.ts";
import type { Line } from "../model.ts";
import type { ObjectFile } from "../proc/object_cache.ts";
import type { FileFrames, FileSymbolizer } from "./symbolizer.ts";

const NONE: FileFrames = { kind: "native", lines: [] };

/**
 * Builds the symbolizer of one object file.
 *
 * @param file The object file.
 * @returns Its symbolizer.
 */
export function defaultFileSymbolizer(file: ObjectFile): FileSymbolizer {
  const go = goBinaryOf(file);
  const native = nativeSymbolizerOf(file);
  return {
    symbolize(vaddr: number): FileFrames {
      if (go !== undefined) {
        const frames = go.symbolizeGo(vaddr, false);
        if (frames.length > 0) {
          const lines: Line[] = frames.map((f) => ({
            functionName: f.functionName,
            ...(f.fileName ? { fileName: f.fileName } : {}),
            ...(f.line > 0 ? { line: f.line } : {}),
          }));
          return { kind: "go", lines };
        }
      }
      const sym = native.symbolize(vaddr);
      if (sym === undefined) return NONE;
      const line: Line = {
        functionName: sym.functionName,
        ...(sym.systemName === undefined ? {} : { systemName: sym.systemName }),
        ...(sym.fileName === undefined ? {} : { fileName: sym.fileName }),
        ...(sym.line === undefined ? {} : { line: sym.line }),
      };
      return { kind: "native", lines: [line] };
    },
  };
}
