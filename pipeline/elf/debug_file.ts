/**
 * Mapping runtime addresses to link-time addresses, and finding the separate
 * debug file of a stripped binary.
 *
 * @module
 */
import { BinaryFormatError, FileSource } from "../binary/mod.ts";
import { type ElfFile, ET_EXEC, parseElf, PT_LOAD } from "./elf.ts";

/** Largest page size we expect mappings to be aligned to (arm64 64 KiB kernels). */
const MAX_PAGE = 0x10000;

/**
 * The load bias of a mapping of `elf`: `vaddr = runtimeAddress - bias`.
 * The bias is found from the `PT_LOAD` segment whose file range covers
 * `mapFileOffset` (mappings start at a page-aligned offset at or below the
 * segment's `p_offset`). A position-dependent executable has bias 0.
 *
 * @param elf The mapped file.
 * @param mapStart First address of the mapping (from `/proc/PID/maps`).
 * @param mapFileOffset File offset of the mapping.
 * @returns The bias, or `undefined` when no loadable segment covers the offset.
 *
 * @example A PIE mapped at 0x5555_5555_4000 from offset 0
 * ```ts ignore
 * const bias = loadBias(elf, 0x555555554000, 0); // 0x555555554000 when the first PT_LOAD has vaddr 0
 * ```
 */
export function loadBias(
  elf: ElfFile,
  mapStart: number,
  mapFileOffset: number,
): number | undefined {
  if (elf.type === ET_EXEC) return 0;
  for (const pageSize of [0x1000, MAX_PAGE]) {
    for (const p of elf.programHeaders) {
      if (p.type !== PT_LOAD) continue;
      const segPage = p.offset - (p.offset % pageSize);
      const segEnd = Math.max(p.offset + p.filesz, segPage + 1);
      if (mapFileOffset >= segPage && mapFileOffset < segEnd) {
        // runtime(off) = mapStart + off - mapFileOffset; vaddr(off) = p.vaddr + off - p.offset
        return mapStart - mapFileOffset - p.vaddr + p.offset;
      }
    }
  }
  return undefined;
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  if (i < 0) return ".";
  if (i === 0) return "/";
  return path.slice(0, i);
}

/** True when the candidate's build id matches (or either side has none). */
function sameBuild(elf: ElfFile, candidate: string): boolean {
  const want = elf.gnuBuildId();
  if (want === undefined) return true;
  let src: FileSource | undefined;
  try {
    src = new FileSource(candidate);
    const got = parseElf(src).gnuBuildId();
    return got === undefined || got === want;
  } catch (err) {
    if (
      err instanceof BinaryFormatError || err instanceof Deno.errors.NotFound
    ) return false;
    if (err instanceof Deno.errors.PermissionDenied) return false;
    throw err;
  } finally {
    src?.close();
  }
}

/**
 * Finds the separate debug file of `elf` the way gdb does: first
 * `DEBUGROOT/.build-id/xx/rest.debug` from the GNU build id, then the
 * `.gnu_debuglink` name next to the file, in its `.debug/` folder, and under
 * `DEBUGROOT/<dir of the file>/`. A debuglink candidate whose build id
 * differs is skipped (the CRC is not computed: reading whole debug files to
 * checksum them is too slow for a profiler).
 *
 * @param elf The stripped file.
 * @param path Its path as this process can open it.
 * @param options `debugRoot` (default `/usr/lib/debug`).
 * @returns A path to an existing debug file, or `undefined`.
 *
 * @example
 * ```ts ignore
 * const dbg = findDebugFile(elf, "/lib/x86_64-linux-gnu/libc.so.6");
 * ```
 */
export function findDebugFile(
  elf: ElfFile,
  path: string,
  options: { debugRoot?: string } = {},
): string | undefined {
  const root = (options.debugRoot ?? "/usr/lib/debug").replace(/\/+$/, "");
  const id = elf.gnuBuildId();
  if (id !== undefined && id.length > 2) {
    const p = `${root}/.build-id/${id.slice(0, 2)}/${id.slice(2)}.debug`;
    if (isFile(p)) return p;
  }
  let link: { file: string; crc: number } | undefined;
  try {
    link = elf.debugLink();
  } catch (err) {
    if (!(err instanceof BinaryFormatError)) throw err;
  }
  if (link === undefined || link.file.includes("\0")) return undefined;
  const dir = dirname(path);
  const sub = dir === "/" ? "" : dir;
  const candidates = [
    `${sub}/${link.file}`,
    `${sub}/.debug/${link.file}`,
    `${root}${sub}/${link.file}`,
  ];
  for (const c of candidates) {
    if (c === path || !isFile(c)) continue;
    if (sameBuild(elf, c)) return c;
  }
  return undefined;
}
