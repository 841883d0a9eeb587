/**
 * Per-file views that later stages derive from a parsed object file, built on
 * first use and cached on the file (so shared by every process that maps
 * it): the CFI unwind table, the Go binary (pclntab, offsets), and the native
 * symbolizer with its separate debug file. A view that cannot be built from
 * corrupt bytes is remembered as absent and counted, never thrown per sample.
 *
 * @module
 */
import { type ByteSource, FileSource } from "./binary/mod.ts";
import { openUnwindRules, type UnwindRules } from "./dwarf/mod.ts";
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

function derive<T>(
  file: ObjectFile,
  key: string,
  build: () => T | undefined,
): T | undefined {
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
 * The CFI unwind rules of a file (`.eh_frame`, `.debug_frame`): looked up
 * lazily per FDE through `.eh_frame_hdr` when the file allows it, else the
 * whole file compiled (see {@linkcode openUnwindRules}).
 *
 * @param file The object file.
 * @returns The rules, or `undefined` when the file's CFI is unreadable.
 */
export function unwindTableOf(file: ObjectFile): UnwindRules | undefined {
  return derive(file, "unwindTable", () => openUnwindRules(file.elf));
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

/** What a {@linkcode DebugFileLocator} found: a debug file and where it came from. */
export interface DebugFile {
  /** The debug file's bytes. */
  readonly source: ByteSource;
  /** Its path on the machine that found it (for names and recordings). */
  readonly path: string;
}

/**
 * Finds the separate debug file of an object file. The live default,
 * {@linkcode hostDebugFile}, searches the host's debug folders; a recording
 * wraps it to copy what it finds, and a replay serves the recorded copy, so
 * symbolization sees the same debug file in both.
 */
export type DebugFileLocator = (file: ObjectFile) => DebugFile | undefined;

/**
 * Key in {@linkcode ObjectFile.derived} under which a process source leaves
 * the {@linkcode DebugFileLocator} for that file. Absent: {@linkcode hostDebugFile}.
 */
export const DEBUG_FILE_LOCATOR = "debugFileLocator";

/**
 * The host's debug file of `file` (build-id folder, then `.gnu_debuglink`;
 * see {@linkcode findDebugFile}).
 *
 * @param file The object file.
 * @returns The debug file, or `undefined` when none is installed.
 *
 * @example
 * ```ts ignore
 * const debug = hostDebugFile(file); // libc's file under /usr/lib/debug/.build-id/…
 * ```
 */
export function hostDebugFile(file: ObjectFile): DebugFile | undefined {
  if (file.path.startsWith("[")) return undefined;
  const path = findDebugFile(file.elf, file.path);
  return path === undefined
    ? undefined
    : { source: new FileSource(path), path };
}

/**
 * Sets the debug file locator of a file (before its symbolizer is first built).
 *
 * @param file The object file.
 * @param locator How to find its debug file.
 *
 * @example
 * ```ts ignore
 * setDebugFileLocator(file, () => undefined); // symbolize from the file alone
 * ```
 */
export function setDebugFileLocator(
  file: ObjectFile,
  locator: DebugFileLocator,
): void {
  file.derived.set(DEBUG_FILE_LOCATOR, locator);
}

/**
 * The native symbolizer of a file, with its separate debug file (build-id
 * directory or `.gnu_debuglink`) when one is found by the file's
 * {@linkcode DebugFileLocator}.
 *
 * @param file The object file.
 * @returns The symbolizer.
 */
export function nativeSymbolizerOf(file: ObjectFile): NativeSymbolizer {
  const s = derive(file, "nativeSymbolizer", () => {
    let debug;
    const locator =
      (file.derived.get(DEBUG_FILE_LOCATOR) as DebugFileLocator | undefined) ??
        hostDebugFile;
    let found: DebugFile | undefined;
    try {
      found = locator(file);
    } catch {
      objectViewFailures.debugFile = (objectViewFailures.debugFile ?? 0) + 1;
    }
    if (found !== undefined) {
      try {
        debug = parseElf(found.source);
      } catch {
        objectViewFailures.debugFile = (objectViewFailures.debugFile ?? 0) + 1;
      }
    }
    return new NativeSymbolizer(file.elf, { debug });
  });
  return s ?? new NativeSymbolizer(file.elf);
}
