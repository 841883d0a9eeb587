/**
 * The one interface every exporter implements. An exporter owns its format and
 * its transport; the agent wraps each one in a bounded queue so a slow or dead
 * exporter never blocks sampling or the other exporters.
 *
 * @module
 */
import type { ProfileWindow } from "../pipeline/model.ts";

/** Pushes profile windows somewhere: a file, a Collector, a server. */
export interface Exporter {
  /** Short name for logs and counters, e.g. `folded:/tmp/out.folded`. */
  readonly name: string;
  /**
   * Export one window. Rejects on failure; a {@linkcode TransientExportError}
   * asks the caller to retry later, any other error drops the window.
   */
  export(window: ProfileWindow): Promise<void>;
  /** Write anything buffered and release resources. Called once, at shutdown. */
  close(): Promise<void>;
}

/** A failure worth retrying (network down, server busy). */
export class TransientExportError extends Error {
  /** Milliseconds the server asked us to wait, when it said. */
  readonly retryAfterMs: number | undefined;
  /**
   * @param message What failed.
   * @param options The cause and an optional server-requested delay.
   */
  constructor(
    message: string,
    options: { cause?: unknown; retryAfterMs?: number } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "TransientExportError";
    this.retryAfterMs = options.retryAfterMs;
  }
}
