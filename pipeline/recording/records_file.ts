/**
 * Reading a recording folder: `meta.json` (validated), `procs.json`,
 * `objects.json`, `kallsyms`, and the framed raw records of `records.bin`
 * (or `records.bin.gz`, as committed test recordings keep it).
 *
 * @module
 */
import { gunzipSync } from "node:zlib";
import { BinaryFormatError } from "../binary/mod.ts";
import {
  READABLE_RECORDING_VERSIONS,
  type RecordedObjects,
  type RecordedProcesses,
  RECORDING_FORMAT,
  type RecordingMeta,
} from "./format.ts";

/** Largest single record accepted from records.bin (the ring buffer's records are far smaller). */
export const MAX_RECORD_BYTES = 1 << 20;

/** A recording read into memory. */
export interface LoadedRecording {
  /** The folder. */
  readonly dir: string;
  /** meta.json. */
  readonly meta: RecordingMeta;
  /** procs.json. */
  readonly procs: RecordedProcesses;
  /** objects.json (`{}` for version 1). */
  readonly objects: RecordedObjects;
  /** Text of the recorded kallsyms subset. */
  readonly kallsyms: string;
  /** records.bin. */
  readonly records: Uint8Array;
}

/**
 * Reads and validates a recording folder.
 *
 * @param dir The folder written by `deno task agent --record DIR`.
 * @returns The recording.
 * @throws {SyntaxError} when meta.json is not a recording of a readable version.
 * @throws {Deno.errors.NotFound} when a file is missing.
 *
 * @example
 * ```ts ignore
 * const rec = loadRecording("tests/fixtures/recordings/native-o2");
 * console.log(rec.meta.frequency);
 * ```
 */
export function loadRecording(dir: string): LoadedRecording {
  const meta = JSON.parse(
    Deno.readTextFileSync(`${dir}/meta.json`),
  ) as RecordingMeta;
  if (meta?.format !== RECORDING_FORMAT) {
    throw new SyntaxError(
      `Cannot read recording ${dir}: meta.json format is not "${RECORDING_FORMAT}"`,
    );
  }
  if (!READABLE_RECORDING_VERSIONS.includes(meta.version)) {
    throw new SyntaxError(
      `Cannot read recording ${dir}: version ${meta.version} is not one of ${
        READABLE_RECORDING_VERSIONS.join(", ")
      }`,
    );
  }
  if (!Array.isArray(meta.windowEnds) || !(meta.frequency > 0)) {
    throw new SyntaxError(
      `Cannot read recording ${dir}: meta.json lacks windowEnds or frequency`,
    );
  }
  let objects: RecordedObjects = {};
  try {
    objects = JSON.parse(Deno.readTextFileSync(`${dir}/objects.json`));
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound) || meta.version >= 2) throw err;
  }
  return {
    dir,
    meta,
    procs: JSON.parse(Deno.readTextFileSync(`${dir}/procs.json`)),
    objects,
    kallsyms: Deno.readTextFileSync(`${dir}/kallsyms`),
    records: readRecords(dir),
  };
}

function readRecords(dir: string): Uint8Array {
  try {
    return gunzipSync(Deno.readFileSync(`${dir}/records.bin.gz`));
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return Deno.readFileSync(`${dir}/records.bin`);
}

/**
 * Splits records.bin into raw records (each framed as u32 length, u32 0, the
 * record, zero padding to 8 bytes). Yields views into `bytes`.
 *
 * @param bytes Contents of records.bin.
 * @returns The records, in the order they were drained.
 * @throws {BinaryFormatError} on a frame that overruns the file or exceeds {@linkcode MAX_RECORD_BYTES}.
 *
 * @example
 * ```ts
 * import { splitRecords } from "./records_file.ts";
 * const file = new Uint8Array(16);
 * new DataView(file.buffer).setUint32(0, 3, true);
 * file.set([1, 2, 3], 8);
 * console.assert([...splitRecords(file)][0]!.length === 3);
 * ```
 */
export function* splitRecords(bytes: Uint8Array): Generator<Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  while (pos + 8 <= bytes.length) {
    const len = view.getUint32(pos, true);
    if (len > MAX_RECORD_BYTES || pos + 8 + len > bytes.length) {
      throw new BinaryFormatError(
        `Cannot read records.bin: record of ${len} bytes at offset ${pos} overruns the file`,
        { offset: pos, section: "records.bin" },
      );
    }
    yield bytes.subarray(pos + 8, pos + 8 + len);
    pos += (8 + len + 7) & ~7;
  }
}
