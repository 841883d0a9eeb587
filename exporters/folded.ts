/**
 * Folded stacks, the text format flamegraph.pl and speedscope read: one line
 * per distinct stack, frames root first joined by `;`, a space, the count.
 * The first frame is the process name; Go and native frames use their
 * function names, inlined calls are frames of their own, kernel frames end in
 * `_[k]`, an unsymbolized frame is `object+0xOFFSET`, and an unfinished stack
 * ends in `[unwind: REASON]`.
 *
 * The exporter keeps a running total over the whole run and rewrites the file
 * after each window (write to a temporary file, then rename), so the file is
 * always complete and a crash loses at most one window.
 *
 * @module
 */
import type { Location, ProfileWindow } from "../pipeline/model.ts";
import { unsymbolizedName } from "../pipeline/symbolize/symbolizer.ts";
import type { Exporter } from "./exporter.ts";

/** Makes a name safe for the format: no `;` (frame separator) and no newline. */
function clean(name: string): string {
  return name.replace(/[;\n\r]/g, (c) => (c === ";" ? ":" : " "));
}

/**
 * Appends the folded frames of one location, caller first (a location lists
 * its inlined functions innermost first).
 *
 * @param loc The location.
 * @param out Frames so far, root first.
 */
export function pushFoldedFrames(loc: Location, out: string[]): void {
  if (loc.lines.length === 0) {
    out.push(clean(unsymbolizedName(loc)));
    return;
  }
  for (let i = loc.lines.length - 1; i >= 0; i--) {
    const name = clean(loc.lines[i]!.functionName);
    out.push(loc.kind === "kernel" ? `${name}_[k]` : name);
  }
}

/**
 * The folded stack of one sample group, without the count.
 *
 * @param processName First frame.
 * @param stack Locations leaf first.
 * @returns Frames joined root first.
 *
 * @example
 * ```ts
 * import { foldedStack } from "./folded.ts";
 * const stack = [
 *   { kind: "native" as const, address: 2n, lines: [{ functionName: "leaf" }] },
 *   { kind: "native" as const, address: 1n, lines: [{ functionName: "main" }] },
 * ];
 * console.assert(foldedStack("demo", stack) === "demo;main;leaf");
 * ```
 */
export function foldedStack(
  processName: string,
  stack: readonly Location[],
): string {
  const frames = [clean(processName)];
  for (let i = stack.length - 1; i >= 0; i--) {
    pushFoldedFrames(stack[i]!, frames);
  }
  return frames.join(";");
}

/**
 * Adds a window's samples to running totals keyed by folded stack.
 *
 * @param window The window.
 * @param totals Map to add into.
 */
export function accumulateFolded(
  window: ProfileWindow,
  totals: Map<string, number>,
): void {
  for (const p of window.processes) {
    for (const g of p.samples) {
      const key = foldedStack(p.process.name, g.stack);
      totals.set(key, (totals.get(key) ?? 0) + g.count);
    }
  }
}

/**
 * Renders totals as folded text, heaviest stacks first, ties by name so the
 * output is deterministic.
 *
 * @param totals Stack → count.
 * @returns The file contents.
 */
export function renderFolded(totals: Map<string, number>): string {
  const rows = [...totals].sort((a, b) =>
    b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)
  );
  let out = "";
  for (const [stack, count] of rows) out += `${stack} ${count}\n`;
  return out;
}

/** Writes folded stacks to a file. */
export class FoldedExporter implements Exporter {
  readonly name: string;
  #path: string;
  #totals = new Map<string, number>();

  /**
   * @param path Output file.
   */
  constructor(path: string) {
    this.#path = path;
    this.name = `folded:${path}`;
  }

  /** Adds the window to the totals and rewrites the file. */
  async export(window: ProfileWindow): Promise<void> {
    accumulateFolded(window, this.#totals);
    const tmp = `${this.#path}.tmp`;
    await Deno.writeTextFile(tmp, renderFolded(this.#totals));
    await Deno.rename(tmp, this.#path);
  }

  /** Nothing is buffered: every export rewrote the file. */
  async close(): Promise<void> {}
}

/**
 * Creates the `folded:PATH` exporter.
 *
 * @param path Output file.
 * @returns The exporter.
 */
export function createFoldedExporter(path: string): Exporter {
  return new FoldedExporter(path);
}
