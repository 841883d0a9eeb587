/**
 * A bounded, non-blocking queue in front of any {@linkcode Exporter}: the
 * sampler hands a window over synchronously and moves on; one worker exports
 * windows in order, retrying transient failures with exponential backoff and
 * jitter; when the queue is full the oldest window is dropped and counted.
 *
 * @module
 */
import type { ProfileWindow } from "../pipeline/model.ts";
import { type Exporter, TransientExportError } from "./exporter.ts";

/** Options of {@linkcode QueuedExporter}. */
export interface QueueOptions {
  /** Windows held at most (default 8); the oldest is dropped beyond that. */
  readonly capacity?: number;
  /** First retry delay, ms (default 500). */
  readonly initialBackoffMs?: number;
  /** Largest retry delay, ms (default 30,000). */
  readonly maxBackoffMs?: number;
  /** Give up on one window after this long, ms (default 300,000). */
  readonly maxElapsedMs?: number;
  /** How long `close()` keeps trying to flush, ms (default 5,000). */
  readonly closeTimeoutMs?: number;
  /** Told about every window that failed for good (not about drops). */
  readonly onFailure?: (error: unknown) => void;
}

/** What happened to the windows handed to a {@linkcode QueuedExporter}. */
export interface QueueStats {
  /** Windows waiting, including one being exported. */
  readonly queued: number;
  /** Windows exported. */
  readonly exported: number;
  /** Retries after transient failures (one per extra attempt). */
  readonly retried: number;
  /** Windows dropped: queue full (oldest first) or still queued when close() gave up. */
  readonly dropped: number;
  /** Windows that failed for good (permanent error or retries exhausted). */
  readonly failed: number;
}

/**
 * Tells whether an error is worth retrying: a {@linkcode TransientExportError}
 * or a connection-level failure (refused, reset, timed out).
 *
 * @param error What an export threw.
 * @returns True when a retry may succeed.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { isTransient } from "./queue.ts";
 * strictEqual(isTransient(new Deno.errors.ConnectionRefused("x")), true);
 * strictEqual(isTransient(new SyntaxError("x")), false);
 * ```
 */
export function isTransient(error: unknown): boolean {
  if (error instanceof TransientExportError) return true;
  if (
    error instanceof Deno.errors.ConnectionRefused ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.TimedOut ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.NotConnected
  ) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" &&
    ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH"]
      .includes(code);
}

/**
 * Wraps an exporter in a bounded queue with retries. `export()` never waits
 * for the network: it enqueues and resolves at once.
 *
 * @example Queue in front of an exporter
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { QueuedExporter } from "./queue.ts";
 * let n = 0;
 * const q = new QueuedExporter({ name: "count", export: () => { n++; return Promise.resolve(); }, close: () => Promise.resolve() });
 * q.enqueue({ startUnixNano: 0n, durationNano: 1n, frequency: 19, processes: [] });
 * await q.close();
 * strictEqual(q.stats().exported, 1);
 * ```
 */
export class QueuedExporter implements Exporter {
  /** The wrapped exporter's name. */
  readonly name: string;
  #inner: Exporter;
  #queue: ProfileWindow[] = [];
  #capacity: number;
  #initialBackoffMs: number;
  #maxBackoffMs: number;
  #maxElapsedMs: number;
  #closeTimeoutMs: number;
  #onFailure: ((error: unknown) => void) | undefined;
  #exported = 0;
  #retried = 0;
  #dropped = 0;
  #failed = 0;
  #worker: Promise<void> | undefined;
  #running = false;
  #closing = false;
  #deadline = Infinity;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #wake: (() => void) | undefined;
  #lastError: unknown;

  /**
   * @param inner The exporter to feed.
   * @param options Capacity, backoff and close deadline.
   */
  constructor(inner: Exporter, options: QueueOptions = {}) {
    this.name = inner.name;
    this.#inner = inner;
    this.#capacity = Math.max(1, options.capacity ?? 8);
    this.#initialBackoffMs = options.initialBackoffMs ?? 500;
    this.#maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.#maxElapsedMs = options.maxElapsedMs ?? 300_000;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 5_000;
    this.#onFailure = options.onFailure;
  }

  /**
   * Hands a window over without waiting. Drops the oldest queued window
   * when full (the one being exported is never dropped mid-flight).
   *
   * @param window The window.
   * @returns False when the queue is closed and the window was dropped.
   */
  enqueue(window: ProfileWindow): boolean {
    if (this.#closing) {
      this.#dropped++;
      return false;
    }
    if (this.#queue.length >= this.#capacity) {
      // Index 0 may be in flight; drop the oldest one that is not.
      const victim = this.#running && this.#queue.length > 1 ? 1 : 0;
      this.#queue.splice(victim, 1);
      this.#dropped++;
    }
    this.#queue.push(window);
    // #running flips back synchronously when #run's loop ends, so a window
    // enqueued right after the last export always starts a new worker (a
    // promise callback would leave a gap in which it would sit forever).
    if (!this.#running) {
      this.#running = true;
      this.#worker = this.#run();
    }
    return true;
  }

  /**
   * {@linkcode Exporter} form of {@linkcode QueuedExporter.enqueue}: resolves
   * at once.
   *
   * @param window The window.
   */
  export(window: ProfileWindow): Promise<void> {
    this.enqueue(window);
    return Promise.resolve();
  }

  /** Counters so far. */
  stats(): QueueStats {
    return {
      queued: this.#queue.length,
      exported: this.#exported,
      retried: this.#retried,
      dropped: this.#dropped,
      failed: this.#failed,
    };
  }

  /** The last error an export threw (transient or not), for reports. */
  get lastError(): unknown {
    return this.#lastError;
  }

  /**
   * Flushes what is queued (retrying until the close deadline), counts what
   * is left as dropped, then closes the wrapped exporter.
   */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#deadline = Date.now() + this.#closeTimeoutMs;
    this.#wake?.();
    if (this.#running && this.#worker) {
      let giveUp: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.#worker,
        new Promise<void>((resolve) => {
          giveUp = setTimeout(resolve, this.#closeTimeoutMs + 50);
        }),
      ]);
      clearTimeout(giveUp);
    }
    this.#dropped += this.#queue.length;
    this.#queue.length = 0;
    await this.#inner.close();
  }

  /**
   * Exports until the queue is empty. #running is cleared in the same tick
   * the loop decides to stop, never later, so exactly one worker runs.
   */
  async #run(): Promise<void> {
    for (;;) {
      if (this.#queue.length === 0) {
        this.#running = false;
        return;
      }
      if (this.#closing && Date.now() >= this.#deadline) return this.#stop();
      const window = this.#queue[0]!;
      const started = Date.now();
      let backoff = this.#initialBackoffMs;
      for (;;) {
        try {
          await this.#inner.export(window);
          this.#exported++;
          break;
        } catch (error) {
          this.#lastError = error;
          const waited = Date.now() - started;
          if (!isTransient(error) || waited >= this.#maxElapsedMs) {
            this.#failed++;
            try {
              this.#onFailure?.(error);
            } catch {
              // a failing observer must not stop the worker
            }
            break;
          }
          if (this.#closing && Date.now() >= this.#deadline) {
            return this.#stop();
          }
          const asked = error instanceof TransientExportError
            ? error.retryAfterMs ?? 0
            : 0;
          // Equal jitter: half fixed, half random.
          let delay = Math.max(
            asked,
            backoff / 2 + Math.random() * backoff / 2,
          );
          backoff = Math.min(this.#maxBackoffMs, backoff * 2);
          if (this.#closing) {
            delay = Math.min(delay, Math.max(0, this.#deadline - Date.now()));
          }
          await this.#sleep(delay);
          if (this.#closing && Date.now() >= this.#deadline) {
            return this.#stop();
          }
          this.#retried++;
        }
      }
      // The window may have been dropped while in flight only if it was not
      // index 0; index 0 is always the one just handled.
      if (this.#queue[0] === window) this.#queue.shift();
    }
  }

  #stop(): void {
    this.#running = false;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(this.#timer);
        this.#timer = undefined;
        this.#wake = undefined;
        resolve();
      };
      this.#wake = () => {
        // On close, retry sooner but do not hammer a dead endpoint.
        clearTimeout(this.#timer);
        this.#timer = setTimeout(done, Math.min(ms, 100));
      };
      this.#timer = setTimeout(done, ms);
    });
  }
}
