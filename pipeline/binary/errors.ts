/**
 * Errors for untrusted binary input. Every parser in the pipeline throws only
 * {@linkcode BinaryFormatError} (a `SyntaxError`) on bad bytes, so callers can
 * count and drop instead of crashing.
 *
 * @module
 */

/** Bytes that do not follow the format they claim to be in. */
export class BinaryFormatError extends SyntaxError {
  /** Byte offset where the problem was seen, relative to `section`'s start. */
  readonly offset: number;
  /** Which structure was being read (`ELF header`, `.eh_frame`, ...). */
  readonly section: string;
  /**
   * @param message What is wrong, std style: `Cannot read X: reason`.
   * @param options Where it was seen and the cause.
   */
  constructor(
    message: string,
    options: { offset?: number; section?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "BinaryFormatError";
    this.offset = options.offset ?? -1;
    this.section = options.section ?? "";
  }
}
