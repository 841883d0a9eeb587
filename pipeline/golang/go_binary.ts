/**
 * One Go executable as the pipeline sees it: build info, gopclntab, runtime
 * offsets and TLS offset (computed on first use), Go-aware symbolization with
 * inlined frames, and the unwinder's stepper.
 *
 * @module
 */
import { BinaryFormatError } from "../binary/mod.ts";
import { type ElfFile, EM_AARCH64 } from "../elf/mod.ts";
import type { FrameStepper } from "../unwind/types.ts";
import { type GoBuildInfo, readGoBuildInfo } from "./buildinfo.ts";
import {
  type GoRuntimeOffsets,
  goRuntimeOffsets,
  type GoTlsOffset,
  goTlsOffset,
} from "./offsets.ts";
import { type GoFrame, type GoPclntab, parseGoPclntab } from "./pclntab.ts";
import { type GoSampleState, makeGoStepper } from "./unwind.ts";

/** A parsed Go executable. */
export class GoBinary {
  /** The ELF file. */
  readonly elf: ElfFile;
  /** Build info (version, settings). */
  readonly buildInfo: GoBuildInfo;
  /** The gopclntab. */
  readonly pclntab: GoPclntab;
  #offsets: GoRuntimeOffsets | undefined;
  #tls: GoTlsOffset | undefined;

  /**
   * @param elf The file.
   * @param buildInfo Its build info.
   * @param pclntab Its gopclntab.
   */
  constructor(elf: ElfFile, buildInfo: GoBuildInfo, pclntab: GoPclntab) {
    this.elf = elf;
    this.buildInfo = buildInfo;
    this.pclntab = pclntab;
  }

  /** Target architecture. */
  get arch(): "amd64" | "arm64" {
    return this.elf.machine === EM_AARCH64 ? "arm64" : "amd64";
  }

  /**
   * Runtime struct offsets (DWARF, else the per-version table).
   *
   * @throws {RangeError} for a stripped binary of a release the table lacks.
   */
  offsets(): GoRuntimeOffsets {
    this.#offsets ??= goRuntimeOffsets(this.elf, this.buildInfo);
    return this.#offsets;
  }

  /** TLS offset of g (amd64). */
  tlsOffset(): GoTlsOffset {
    this.#tls ??= goTlsOffset(this.elf, this.pclntab);
    return this.#tls;
  }

  /**
   * Frames at a link-time pc, innermost first, inlined calls expanded.
   *
   * @param pc Link-time address (runtime pc minus load bias).
   * @param isReturnAddress True for all but the innermost/interrupted frame.
   * @returns Frames with name, file and line; empty outside Go text.
   */
  symbolizeGo(pc: number, isReturnAddress: boolean): readonly GoFrame[] {
    return this.pclntab.symbolize(pc, isReturnAddress);
  }

  /**
   * The unwinder hook for this binary in one sample.
   *
   * @param bias Load bias of the mapping.
   * @param state The sample's g data, when delivered.
   * @returns A {@linkcode FrameStepper}.
   */
  stepper(bias: number, state?: GoSampleState): FrameStepper {
    return makeGoStepper({
      pclntab: this.pclntab,
      bias,
      arch: this.arch,
      state,
    });
  }
}

/**
 * Opens an ELF file as a Go binary.
 *
 * @param elf The parsed file.
 * @returns The Go binary, or `undefined` when the file is not a Go binary.
 * @throws {BinaryFormatError} when it is a Go binary with a malformed or
 * unsupported (before Go 1.18) gopclntab.
 *
 * @example Symbolize the entry point of a Go binary
 * ```ts ignore
 * import { openGoBinary } from "./go_binary.ts";
 * import { parseElf } from "../elf/mod.ts";
 * import { FileSource } from "../binary/mod.ts";
 * const go = openGoBinary(parseElf(new FileSource("/usr/local/go/bin/go")));
 * console.log(go?.buildInfo.version, go?.symbolizeGo(go.elf.entry, false));
 * ```
 */
export function openGoBinary(elf: ElfFile): GoBinary | undefined {
  let info: GoBuildInfo | undefined;
  try {
    info = readGoBuildInfo(elf);
  } catch (err) {
    if (!(err instanceof BinaryFormatError)) throw err;
  }
  if (info === undefined) return undefined;
  return new GoBinary(elf, info, parseGoPclntab(elf));
}
