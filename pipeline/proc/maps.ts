/**
 * Parsing of `/proc/PID/maps`. One line per mapping:
 * `start-end perms offset dev inode path`, with hexadecimal numbers.
 *
 * @module
 */

/** One line of `/proc/PID/maps`. */
export interface MapEntry {
  /** First address. */
  readonly start: number;
  /** One past the last address. */
  readonly end: number;
  /** `r`, `w`, `x`, `p`/`s` flags as the kernel prints them, e.g. `r-xp`. */
  readonly perms: string;
  /** File offset mapped at `start`. */
  readonly offset: number;
  /** Device as `major:minor` (hex). */
  readonly dev: string;
  /** Inode number, 0 for anonymous memory. */
  readonly inode: number;
  /** Path, pseudo name (`[stack]`, `[vdso]`, `[heap]`) or "" for anonymous memory. */
  readonly path: string;
  /** True when the kernel marked the file ` (deleted)`. */
  readonly deleted: boolean;
}

const LINE =
  /^([0-9a-f]+)-([0-9a-f]+) ([rwxsp-]{4}) ([0-9a-f]+) ([0-9a-f]+:[0-9a-f]+) (\d+)\s*(.*)$/;

/**
 * Parses the text of `/proc/PID/maps`. Malformed lines are skipped and
 * counted, never fatal: the file comes from another process's view.
 *
 * Addresses above 2^53 (the `[vsyscall]` page on amd64) are kept as the
 * nearest double; they are never user code we unwind through.
 *
 * @param text The file's contents.
 * @returns The entries in address order and how many lines were malformed.
 *
 * @example Parse one mapping
 * ```ts
 * import { parseMaps } from "./maps.ts";
 * const { entries } = parseMaps(
 *   "55d0c8a00000-55d0c8a01000 r-xp 00001000 08:01 1234 /usr/bin/true\n",
 * );
 * console.assert(entries[0]!.path === "/usr/bin/true");
 * console.assert(entries[0]!.offset === 0x1000);
 * ```
 */
export function parseMaps(
  text: string,
): { entries: MapEntry[]; malformed: number } {
  const entries: MapEntry[] = [];
  let malformed = 0;
  for (const raw of text.split("\n")) {
    if (raw.length === 0) continue;
    const m = LINE.exec(raw);
    if (m === null) {
      malformed++;
      continue;
    }
    let path = m[7] ?? "";
    let deleted = false;
    if (path.endsWith(" (deleted)")) {
      deleted = true;
      path = path.slice(0, -" (deleted)".length);
    }
    entries.push({
      start: parseInt(m[1]!, 16),
      end: parseInt(m[2]!, 16),
      perms: m[3]!,
      offset: parseInt(m[4]!, 16),
      dev: m[5]!,
      inode: Number(m[6]!),
      path,
      deleted,
    });
  }
  entries.sort((a, b) => a.start - b.start);
  return { entries, malformed };
}

/**
 * Finds the mapping that contains `address` by binary search.
 *
 * @param entries Entries sorted by start, as {@linkcode parseMaps} returns them.
 * @param address An address in the process.
 * @returns The containing entry, or `undefined`.
 */
export function findMapping(
  entries: readonly MapEntry[],
  address: number,
): MapEntry | undefined {
  let lo = 0;
  let hi = entries.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const e = entries[mid]!;
    if (address < e.start) hi = mid - 1;
    else if (address >= e.end) lo = mid + 1;
    else return e;
  }
  return undefined;
}
