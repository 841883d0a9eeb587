/**
 * Per-file views that later stages derive from a parsed object file, built on
 * first use and cached on the file (so shared by every process that maps
 * it): the CFI unwind table, the Go binary (pclntab, offsets), and the native
 * symbolizer with its separate debug file. A view that cannot be built from
 * corrupt bytes is remembered as absent and counted, never thrown per sample.
 *
 * @module
 */
import { FileSource } from "./binary/mod.ts";
import { buildUnwindTable, type UnwindTable } from "./dwarf/mod.ts";
import { findDebugFile, parseElf } from "./elf/mod.ts";
import { type GoBinary, openGoBinary } from "./golang/go_binary.ts";
import type { ObjectFile } from "./proc/object_cache.ts";
import { NativeSymbolizer } from "./symbolize/native.ts";

/** Views that could not be built, by kind. */
export const objectViewFailures: Record<string, number> = {
  unwindTable: 0,
  goBinary: 0,
  debugFile: 0,
};

function derive<T>(file: ObjectFile, key: string, build: () => T | undefined): T | undefined {
  if (file.derived.has(key)) return file.derived.get(key) as T | undefined;
  let value: T | undefined;
  try {
    value = build();
  } catch {
    objectViewFailures[key] = (objectViewFailures[key] ?? 0) + 1;
    value = undefined;
  }
  file.derived.set(key, value);
  return value;
}

/**
 * The CFI unwind table of a file (`.eh_frame`, `.debug_frame`).
 *
 * @param file The object file.
 * @returns The table, or `undefined` when the file's CFI is unreadable.
 */
export function unwindTableOf(file: ObjectFile): UnwindTable | undefined {
  return derive(file, "unwindTable", () => buildUnwindTable(file.elf));
}

/**
 * The Go view of a file.
 *
 * @param file The object file.
 * @returns The Go binary, or `undefined` for non-Go files and unreadable tables.
 */
export function goBinaryOf(file: ObjectFile): GoBinary | undefined {
  return derive(file, "goBinary", () => openGoBinary(file.elf));
}

/**
 * The native symbolizer of a file, with its separate debug file (build-id
 * directory or `.gnu_debuglink`) when one is installed.
 *
 * @param file The object file.
 * @returns The symbolizer.
 */
export function nativeSymbolizerOf(file: ObjectFile): NativeSymbolizer {
  const s = derive(file, "nativeSymbolizer", () => {
    let debug;
    const path = file.path.startsWith("[") ? undefined : findDebugFile(file.elf, file.path);
    if (path !== undefined) {
      try {
        debug = parseElf(new FileSource(path));
      } catch {
        objectViewFailures.debugFile = (objectViewFailures.debugFile ?? 0) + 1;
      }
    }
    return new NativeSymbolizer(file.elf, { debug });
  });
  return s ?? new NativeSymbolizer(file.elf);
}
