/**
 * Go runtime struct offsets (g, m, gobuf) and the TLS offset of g, for the
 * unwinder and the BPF program's `go_procs` map.
 *
 * Offsets come from the binary's DWARF (`runtime.g`, `runtime.m`,
 * `runtime.gobuf`) when it has it, else from a per-version table that
 * `offsets_test.ts` checks against the DWARF of real binaries of every Go
 * release in the test matrix. Releases newer than the table are refused.
 *
 * TLS offset of g on amd64 (`g = *(fs_base + offset)`): decoded from the
 * first instructions of `runtime.stackcheck` (found through gopclntab, so it
 * works on stripped binaries): `mov %fs:disp32, reg` (non-PIE; −8 internal
 * linking, e.g. −0x58 for a static externally linked cgo binary whose libc
 * has its own TLS) or `mov $imm32, %rcx; mov %fs:(%rcx), …` (internally
 * linked PIE). Otherwise it is computed from `runtime.tlsg` and the PT_TLS
 * segment (the executable's TLS block ends at the thread pointer), else −8.
 *
 * @module
 */
import { BinaryFormatError } from "../binary/mod.ts";
import { type ElfFile, EM_X86_64 } from "../elf/mod.ts";
import { findSymbols, readAtVaddr } from "./_elf_util.ts";
import type { GoVersion } from "./buildinfo.ts";
import { readDwarfStructs } from "./dwarf_structs.ts";
import type { GoPclntab } from "./pclntab.ts";

/** Byte offsets of the runtime fields denoprof reads; -1 = not in this release. */
export interface GoRuntimeOffsets {
  /** g.stack.lo */
  readonly gStackLo: number;
  /** g.stack.hi */
  readonly gStackHi: number;
  /** g.m */
  readonly gM: number;
  /** g.sched.sp */
  readonly gSchedSp: number;
  /** g.sched.pc */
  readonly gSchedPc: number;
  /** g.sched.lr */
  readonly gSchedLr: number;
  /** g.sched.bp */
  readonly gSchedBp: number;
  /** g.syscallsp */
  readonly gSyscallSp: number;
  /** g.syscallpc */
  readonly gSyscallPc: number;
  /** g.syscallbp (Go 1.23+, else -1) */
  readonly gSyscallBp: number;
  /** g.stktopsp */
  readonly gStktopsp: number;
  /** g.atomicstatus */
  readonly gAtomicstatus: number;
  /** g.goid */
  readonly gGoid: number;
  /** g.labels */
  readonly gLabels: number;
  /** m.g0 */
  readonly mG0: number;
  /** m.procid */
  readonly mProcid: number;
  /** m.gsignal */
  readonly mGsignal: number;
  /** m.curg */
  readonly mCurg: number;
  /** m.ncgo (int32): cgo calls in progress on this M */
  readonly mNcgo: number;
  /** m.isextra (bool, Go 1.21+, else -1): a C-created thread's M */
  readonly mIsextra: number;
  /** m.vdsoSP: the vDSO caller's SP while in a vDSO call, else 0 */
  readonly mVdsoSp: number;
  /** m.vdsoPC: the vDSO caller's return PC (valid when m.vdsoSP != 0) */
  readonly mVdsoPc: number;
  /** Where the numbers come from. */
  readonly source: "dwarf" | "table";
}

type Row = Omit<GoRuntimeOffsets, "source">;

const BASE: Row = {
  gStackLo: 0,
  gStackHi: 8,
  gM: 48,
  gSchedSp: 56,
  gSchedPc: 64,
  gSchedLr: 96,
  gSchedBp: 104,
  gSyscallSp: 112,
  gSyscallPc: 120,
  gSyscallBp: -1,
  gStktopsp: 128,
  gAtomicstatus: 144,
  gGoid: 152,
  gLabels: 344,
  mG0: 0,
  mProcid: 72,
  mGsignal: 80,
  mCurg: 192,
  mNcgo: 312,
  mIsextra: 281,
  mVdsoSp: 808,
  mVdsoPc: 816,
};
const R122: Row = { ...BASE, mNcgo: 304, mVdsoSp: 1120, mVdsoPc: 1128 };
const R123: Row = {
  ...R122,
  gSyscallBp: 128,
  gStktopsp: 136,
  gAtomicstatus: 152,
  gGoid: 160,
  gLabels: 352,
  mVdsoSp: 856,
  mVdsoPc: 864,
};
const R125: Row = {
  ...BASE,
  gSchedLr: 88,
  gSchedBp: 96,
  gSyscallSp: 104,
  gSyscallPc: 112,
  gSyscallBp: 120,
  gLabels: 344,
  mProcid: 64,
  mGsignal: 72,
  mCurg: 184,
  mNcgo: 320,
  mIsextra: 273,
  mVdsoSp: 896,
  mVdsoPc: 904,
};

/**
 * Offsets per Go minor release (amd64 and arm64, linux; 64-bit). Each row
 * was read from the DWARF of binaries built by that release (see
 * `offsets_test.ts`); 1.20 is assumed equal to 1.19/1.21, which agree
 * except for m.isextra (added in 1.21; left -1 for 1.20) and m.vdsoSP/PC
 * (800 in 1.19, 808 in 1.21; left -1 for 1.20, so the kernel side does not
 * read them).
 */
export const GO_OFFSETS_TABLE: ReadonlyMap<number, Row> = new Map([
  [19, { ...BASE, gLabels: 360, mIsextra: -1, mVdsoSp: 800, mVdsoPc: 808 }],
  [20, { ...BASE, mIsextra: -1, mVdsoSp: -1, mVdsoPc: -1 }],
  [21, BASE],
  [22, R122],
  [23, R123],
  [24, { ...R123, mVdsoSp: 880, mVdsoPc: 888 }],
  [25, R125],
  [26, { ...R125, gLabels: 352, mNcgo: 328, mIsextra: 281 }],
]);

/** Newest Go minor release the table knows. */
export const GO_OFFSETS_MAX_MINOR = 26;

/**
 * Offsets from the per-version table.
 *
 * @param version The binary's Go release.
 * @returns The offsets.
 * @throws {RangeError} for releases outside the table (older than 1.19 or
 * newer than {@linkcode GO_OFFSETS_MAX_MINOR}).
 *
 * @example Offsets of Go 1.25
 * ```ts
 * import { goOffsetsFromTable } from "./offsets.ts";
 * console.assert(goOffsetsFromTable({ major: 1, minor: 25, patch: 0 }).mCurg === 184);
 * ```
 */
export function goOffsetsFromTable(version: GoVersion): GoRuntimeOffsets {
  const row = version.major === 1
    ? GO_OFFSETS_TABLE.get(version.minor)
    : undefined;
  if (row === undefined) {
    throw new RangeError(
      `Cannot use runtime offsets for go${version.major}.${version.minor}: the table covers go1.19 to go1.${GO_OFFSETS_MAX_MINOR} and the binary has no DWARF to read them from`,
    );
  }
  return { ...row, source: "table" };
}

/**
 * Offsets from the binary's DWARF.
 *
 * @param elf The file.
 * @returns The offsets, or `undefined` when the binary has no DWARF or lacks
 * one of the required types or members.
 * @throws {BinaryFormatError} on malformed DWARF.
 *
 * @example Read offsets of an unstripped binary
 * ```ts ignore
 * import { goOffsetsFromDwarf } from "./offsets.ts";
 * import { parseElf } from "../elf/mod.ts";
 * import { FileSource } from "../binary/mod.ts";
 * console.log(goOffsetsFromDwarf(parseElf(new FileSource("./prog")))?.mCurg);
 * ```
 */
export function goOffsetsFromDwarf(elf: ElfFile): GoRuntimeOffsets | undefined {
  const s = readDwarfStructs(elf, [
    "runtime.g",
    "runtime.m",
    "runtime.gobuf",
    "runtime.stack",
  ]);
  const g = s?.get("runtime.g")?.members;
  const m = s?.get("runtime.m")?.members;
  const gb = s?.get("runtime.gobuf")?.members;
  const st = s?.get("runtime.stack")?.members;
  if (!g || !m || !gb || !st) return undefined;
  const need = (map: ReadonlyMap<string, number>, k: string) => map.get(k);
  const stack = need(g, "stack"), sched = need(g, "sched");
  const lo = need(st, "lo"), hi = need(st, "hi");
  const vals = [
    stack,
    sched,
    lo,
    hi,
    need(g, "m"),
    need(gb, "sp"),
    need(gb, "pc"),
    need(gb, "bp"),
    need(g, "syscallsp"),
    need(g, "syscallpc"),
    need(g, "goid"),
    need(m, "g0"),
    need(m, "curg"),
  ];
  if (vals.some((v) => v === undefined)) return undefined;
  const opt = (map: ReadonlyMap<string, number>, k: string, base = 0) => {
    const v = map.get(k);
    return v === undefined ? -1 : base + v;
  };
  return {
    gStackLo: stack! + lo!,
    gStackHi: stack! + hi!,
    gM: g.get("m")!,
    gSchedSp: sched! + gb.get("sp")!,
    gSchedPc: sched! + gb.get("pc")!,
    gSchedLr: opt(gb, "lr", sched!),
    gSchedBp: sched! + gb.get("bp")!,
    gSyscallSp: g.get("syscallsp")!,
    gSyscallPc: g.get("syscallpc")!,
    gSyscallBp: opt(g, "syscallbp"),
    gStktopsp: opt(g, "stktopsp"),
    gAtomicstatus: opt(g, "atomicstatus"),
    gGoid: g.get("goid")!,
    gLabels: opt(g, "labels"),
    mG0: m.get("g0")!,
    mProcid: opt(m, "procid"),
    mGsignal: opt(m, "gsignal"),
    mCurg: m.get("curg")!,
    mNcgo: opt(m, "ncgo"),
    mIsextra: opt(m, "isextra"),
    mVdsoSp: opt(m, "vdsoSP"),
    mVdsoPc: opt(m, "vdsoPC"),
    source: "dwarf",
  };
}

/**
 * Offsets for a Go binary: DWARF when present, else the per-version table.
 *
 * @param elf The file.
 * @param version Its Go release (from {@linkcode readGoBuildInfo}).
 * @returns The offsets.
 * @throws {RangeError} when there is no DWARF and the release is not in
 * the table.
 *
 * @example Offsets of a stripped binary
 * ```ts ignore
 * import { goRuntimeOffsets } from "./offsets.ts";
 * import { readGoBuildInfo } from "./buildinfo.ts";
 * import { parseElf } from "../elf/mod.ts";
 * import { FileSource } from "../binary/mod.ts";
 * const elf = parseElf(new FileSource("./prog"));
 * console.log(goRuntimeOffsets(elf, readGoBuildInfo(elf)!).source);
 * ```
 */
export function goRuntimeOffsets(
  elf: ElfFile,
  version: GoVersion,
): GoRuntimeOffsets {
  let fromDwarf: GoRuntimeOffsets | undefined;
  try {
    fromDwarf = goOffsetsFromDwarf(elf);
  } catch (err) {
    if (!(err instanceof BinaryFormatError)) throw err;
  }
  return fromDwarf ?? goOffsetsFromTable(version);
}

/** The TLS offset of g and how it was found. */
export interface GoTlsOffset {
  /** `g = *(tls_base + offset)` (amd64: fs_base). */
  readonly offset: number;
  /** `decode` (runtime.stackcheck), `tlsg` (symbol + PT_TLS), or `default`. */
  readonly source: "decode" | "tlsg" | "default";
}

const PT_TLS = 7;

/**
 * Finds the TLS offset of g for an amd64 Go binary.
 *
 * @param elf The file.
 * @param pclntab Its gopclntab (to find runtime.stackcheck when stripped).
 * @returns The offset and how it was found.
 * @throws {RangeError} for architectures other than amd64 (arm64 keeps g in
 * R28 and, with cgo, at `runtime.tls_g`; not implemented yet).
 *
 * @example TLS offset of an internally linked binary
 * ```ts ignore
 * import { goTlsOffset } from "./offsets.ts";
 * import { parseGoPclntab } from "./pclntab.ts";
 * import { parseElf } from "../elf/mod.ts";
 * import { FileSource } from "../binary/mod.ts";
 * const elf = parseElf(new FileSource("./prog"));
 * console.log(goTlsOffset(elf, parseGoPclntab(elf)).offset); // -8
 * ```
 */
export function goTlsOffset(elf: ElfFile, pclntab: GoPclntab): GoTlsOffset {
  if (elf.machine !== EM_X86_64) {
    throw new RangeError(
      `Cannot find the TLS offset of g: machine ${elf.machine} is not amd64`,
    );
  }
  for (let i = 0; i < pclntab.nfunc; i++) {
    const name = pclntab.funcName(i);
    if (name !== "runtime.stackcheck" && name !== "runtime.stackcheck.abi0") {
      continue;
    }
    const code = readAtVaddr(elf, pclntab.funcEntry(i), 16);
    const d = code === undefined ? undefined : decodeTlsLoad(code);
    if (d !== undefined) return { offset: d, source: "decode" };
    break;
  }
  const tls = elf.programHeaders.find((p) => p.type === PT_TLS);
  const tlsg = findSymbols(elf, ["runtime.tlsg"]).get("runtime.tlsg");
  if (tls !== undefined && tlsg !== undefined) {
    const align = Math.max(tls.align, 1);
    const block = Math.ceil(tls.memsz / align) * align;
    return { offset: tlsg.value - block, source: "tlsg" };
  }
  return { offset: -8, source: "default" };
}

/**
 * Decodes the g load at the start of runtime.stackcheck:
 * `64 48 8b /r` with a SIB disp32 (`mov %fs:disp32, reg`), or
 * `48 c7 c0+r imm32` then `64 48 8b` (`mov $imm, reg; mov %fs:(reg), …`).
 *
 * @param code Bytes at the function entry.
 * @returns The signed offset, or `undefined` for other encodings.
 */
export function decodeTlsLoad(code: Uint8Array): number | undefined {
  const v = new DataView(code.buffer, code.byteOffset, code.byteLength);
  if (
    code.length >= 9 && code[0] === 0x64 && code[1] === 0x48 &&
    code[2] === 0x8b && (code[3]! & 0xc7) === 0x04 && code[4] === 0x25
  ) {
    return v.getInt32(5, true);
  }
  if (
    code.length >= 10 && code[0] === 0x48 && code[1] === 0xc7 &&
    (code[2]! & 0xf8) === 0xc0 && code[7] === 0x64 && code[8] === 0x48 &&
    code[9] === 0x8b
  ) {
    return v.getInt32(3, true);
  }
  return undefined;
}
