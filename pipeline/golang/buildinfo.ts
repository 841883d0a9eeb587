/**
 * Go binary detection and version from `.go.buildinfo` and
 * `.note.go.buildid`.
 *
 * Glossary:
 * - buildinfo: a 32-byte header `"\xff Go buildinf:"` (14 bytes), pointer
 *   size (1), flags (bit 0 big-endian, bit 1 inline strings), then either the
 *   version and module info as two uvarint-length strings right after the
 *   header (Go ≥ 1.18), or two pointers to Go string headers `{ptr, len}`
 *   (older linkers). It is 16-byte aligned and sits at the start of the
 *   writable data segment, so a stripped file without section headers is
 *   found by scanning that segment.
 * - modinfo: the text `go version -m` prints, wrapped in 16-byte sentinels.
 *
 * @module
 */
import { BinaryFormatError } from "../binary/mod.ts";
import { type ElfFile, PT_LOAD } from "../elf/mod.ts";
import { readAtVaddr } from "./_elf_util.ts";

/** The 14-byte magic that starts a `.go.buildinfo` blob. */
export const BUILDINFO_MAGIC: Uint8Array = new Uint8Array([
  0xff,
  ...new TextEncoder().encode(" Go buildinf:"),
]);

/** Bytes of the data segment scanned for the magic when no section names it. */
export const BUILDINFO_SCAN_LIMIT = 1 << 20;

/** A Go release as numbers. */
export interface GoVersion {
  /** 1 */
  readonly major: number;
  /** 22 for go1.22.5 */
  readonly minor: number;
  /** 5 for go1.22.5, 0 for go1.21rc2 or go1.22 */
  readonly patch: number;
}

/** What a Go binary says about how it was built. */
export interface GoBuildInfo extends GoVersion {
  /** Version string as written by the toolchain, `go1.22.5`. */
  readonly version: string;
  /** Pointer size of the target (4 or 8). */
  readonly ptrSize: number;
  /** Target is big-endian. */
  readonly bigEndian: boolean;
  /** Main module path (`path` line of modinfo), when present. */
  readonly path: string | undefined;
  /** `build` settings of modinfo (`CGO_ENABLED`, `-ldflags`, `-buildmode`, ...). */
  readonly settings: ReadonlyMap<string, string>;
  /** Module info text without its sentinels (empty when absent). */
  readonly modinfo: string;
  /** `.note.go.buildid` contents, when present. */
  readonly goBuildId: string | undefined;
  /** Where the blob was found: `section` or `scan`. */
  readonly foundBy: "section" | "scan";
}

const VERSION_RE = /go(\d+)\.(\d+)(?:\.(\d+))?/;
const utf8 = new TextDecoder("utf-8", { fatal: false });

/**
 * Parses a Go version string (`go1.22.5`, `go1.21rc2`, `devel go1.27-abc`).
 *
 * @param version The string.
 * @returns The numbers, or `undefined` when it names no Go release.
 *
 * @example Parse a release
 * ```ts
 * import { parseGoVersion } from "./buildinfo.ts";
 * console.assert(parseGoVersion("go1.22.5")?.minor === 22);
 * ```
 */
export function parseGoVersion(version: string): GoVersion | undefined {
  const m = VERSION_RE.exec(version);
  if (m === null) return undefined;
  return { major: +m[1]!, minor: +m[2]!, patch: m[3] ? +m[3] : 0 };
}

function fail(elf: ElfFile, what: string, offset = -1): never {
  throw new BinaryFormatError(
    `Cannot read Go build info of ${elf.source.name}: ${what}`,
    { offset, section: ".go.buildinfo" },
  );
}

function hasMagic(b: Uint8Array, at: number): boolean {
  if (at + 32 > b.length) return false;
  for (let i = 0; i < BUILDINFO_MAGIC.length; i++) {
    if (b[at + i] !== BUILDINFO_MAGIC[i]) return false;
  }
  return true;
}

/** Reads a uvarint-prefixed string at `pos`; returns [string, next]. */
function varString(
  elf: ElfFile,
  b: Uint8Array,
  pos: number,
): [string, number] {
  let n = 0, mul = 1, i = pos;
  for (;; i++) {
    if (i >= b.length || i - pos > 9) fail(elf, "bad string length", pos);
    const c = b[i]!;
    n += (c & 0x7f) * mul;
    mul *= 128;
    if ((c & 0x80) === 0) break;
  }
  i++;
  if (n > b.length - i) fail(elf, `string of ${n} bytes overruns`, pos);
  return [utf8.decode(b.subarray(i, i + n)), i + n];
}

function readWord(b: Uint8Array, at: number, size: number, le: boolean) {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (size === 4) return v.getUint32(at, le);
  const lo = v.getUint32(at + (le ? 0 : 4), le);
  const hi = v.getUint32(at + (le ? 4 : 0), le);
  return hi > 0x1fffff ? -1 : hi * 0x100000000 + lo;
}

/** Reads a Go string header at vaddr (pointer format, before Go 1.18). */
function ptrString(
  elf: ElfFile,
  vaddr: number,
  ptrSize: number,
  le: boolean,
): string {
  const hdr = readAtVaddr(elf, vaddr, 2 * ptrSize);
  if (hdr === undefined) {
    fail(elf, `string header at 0x${vaddr.toString(16)} unmapped`);
  }
  const ptr = readWord(hdr, 0, ptrSize, le);
  const len = readWord(hdr, ptrSize, ptrSize, le);
  if (ptr < 0 || len < 0 || len > 1 << 20) fail(elf, "bad string header");
  if (len === 0) return "";
  const s = readAtVaddr(elf, ptr, len);
  if (s === undefined) fail(elf, `string at 0x${ptr.toString(16)} unmapped`);
  return utf8.decode(s);
}

/** Finds the blob: the section, else a scan of writable PT_LOAD segments. */
function locate(
  elf: ElfFile,
):
  | { bytes: Uint8Array; vaddr: number; foundBy: "section" | "scan" }
  | undefined {
  const sec = elf.section(".go.buildinfo");
  if (sec !== undefined && sec.size >= 32) {
    const bytes = elf.sectionBytes(sec);
    if (hasMagic(bytes, 0)) {
      return { bytes, vaddr: sec.addr, foundBy: "section" };
    }
  }
  for (const p of elf.programHeaders) {
    if (p.type !== PT_LOAD || (p.flags & 2) === 0 || p.filesz < 32) continue;
    const n = Math.min(p.filesz, BUILDINFO_SCAN_LIMIT);
    const bytes = elf.source.read(p.offset, n);
    // 16-byte aligned in the address space.
    const first = (16 - (p.vaddr % 16)) % 16;
    for (let at = first; at + 32 <= bytes.length; at += 16) {
      if (bytes[at] === 0xff && hasMagic(bytes, at)) {
        return {
          bytes: bytes.subarray(at),
          vaddr: p.vaddr + at,
          foundBy: "scan",
        };
      }
    }
  }
  return undefined;
}

/**
 * Reads the Go build info of an ELF file. Works for internally and externally
 * linked, PIE, static and stripped (`-s -w`) executables.
 *
 * @param elf The parsed file.
 * @returns The build info, or `undefined` when the file is not a Go binary
 * (no buildinfo blob).
 * @throws {BinaryFormatError} when a blob is found but malformed.
 *
 * @example Read the version of a Go binary
 * ```ts ignore
 * import { readGoBuildInfo } from "./buildinfo.ts";
 * import { parseElf } from "../elf/mod.ts";
 * import { FileSource } from "../binary/mod.ts";
 * const info = readGoBuildInfo(parseElf(new FileSource("/usr/local/go/bin/go")));
 * console.log(info?.version);
 * ```
 */
export function readGoBuildInfo(elf: ElfFile): GoBuildInfo | undefined {
  const found = locate(elf);
  if (found === undefined) return undefined;
  const b = found.bytes;
  const ptrSize = b[14]!;
  const flags = b[15]!;
  const bigEndian = (flags & 1) !== 0;
  if (ptrSize !== 4 && ptrSize !== 8) fail(elf, `pointer size ${ptrSize}`, 14);
  let version: string, modinfo: string;
  if ((flags & 2) !== 0) {
    let pos: number;
    [version, pos] = varString(elf, b, 32);
    [modinfo] = varString(elf, b, pos);
  } else {
    const le = !bigEndian;
    const vp = readWord(b, 16, ptrSize, le);
    const mp = readWord(b, 16 + ptrSize, ptrSize, le);
    if (vp < 0 || mp < 0) fail(elf, "bad string pointers", 16);
    version = ptrString(elf, vp, ptrSize, le);
    modinfo = ptrString(elf, mp, ptrSize, le);
  }
  const parsed = parseGoVersion(version);
  if (parsed === undefined) fail(elf, `version ${JSON.stringify(version)}`);
  // modinfo is wrapped in two 16-byte sentinels.
  if (modinfo.length >= 33 && modinfo.charCodeAt(modinfo.length - 17) === 10) {
    modinfo = modinfo.slice(16, -16);
  }
  let path: string | undefined;
  const settings = new Map<string, string>();
  for (const line of modinfo.split("\n")) {
    const tab = line.indexOf("\t");
    if (tab < 0) continue;
    const key = line.slice(0, tab), rest = line.slice(tab + 1);
    if (key === "path") path = rest;
    else if (key === "build") {
      const eq = rest.indexOf("=");
      if (eq > 0) settings.set(rest.slice(0, eq), rest.slice(eq + 1));
    }
  }
  let goBuildId: string | undefined;
  try {
    goBuildId = elf.goBuildId();
  } catch (err) {
    if (!(err instanceof BinaryFormatError)) throw err;
  }
  return {
    ...parsed,
    version,
    ptrSize,
    bigEndian,
    path,
    settings,
    modinfo,
    goBuildId,
    foundBy: found.foundBy,
  };
}

/**
 * True when the file is a Go binary: it has a buildinfo blob, a
 * `.note.go.buildid` note, or a `.gopclntab` section.
 *
 * @param elf The parsed file.
 * @returns Whether Go built it.
 *
 * @example Check a file
 * ```ts ignore
 * import { isGoBinary } from "./buildinfo.ts";
 * import { parseElf } from "../elf/mod.ts";
 * import { FileSource } from "../binary/mod.ts";
 * console.log(isGoBinary(parseElf(new FileSource("/bin/true")))); // false
 * ```
 */
export function isGoBinary(elf: ElfFile): boolean {
  try {
    if (elf.goBuildId() !== undefined) return true;
    if (elf.section(".gopclntab") || elf.section(".data.rel.ro.gopclntab")) {
      return true;
    }
    return locate(elf) !== undefined;
  } catch (err) {
    if (err instanceof BinaryFormatError) return false;
    throw err;
  }
}
