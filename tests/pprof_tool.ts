/**
 * `go tool pprof` as an oracle: runs it on pprof files and parses `-top` and
 * `-traces` into the same shape as the folded exporter's output, so tests can
 * compare the two exporters of one run.
 *
 * @module
 */
import { readFolded as readFoldedFile } from "./_agent.ts";

/**
 * The `go` command: on PATH or in /usr/local/go/bin.
 *
 * @returns Its path, or undefined when there is no Go toolchain.
 */
export function goBinary(): string | undefined {
  for (
    const dir of [
      ...(Deno.env.get("PATH") ?? "").split(":"),
      "/usr/local/go/bin",
    ]
  ) {
    try {
      if (Deno.statSync(`${dir}/go`).isFile) return `${dir}/go`;
    } catch { /* next */ }
  }
  return undefined;
}

/**
 * Runs `go tool pprof ARGS…`.
 *
 * @param args Flags and profile files (several files are merged).
 * @returns Standard output.
 * @throws {Error} when Go is missing or pprof fails.
 */
export async function pprof(args: string[]): Promise<string> {
  const go = goBinary();
  if (!go) throw new Error("go is missing: go tool pprof needs a Go toolchain");
  const out = await new Deno.Command(go, { args: ["tool", "pprof", ...args] })
    .output();
  if (!out.success) {
    throw new Error(
      `go tool pprof ${args.join(" ")} failed: ${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

/**
 * Parses `-traces -tagroot=process` into folded form (root first).
 *
 * @param text pprof's output.
 * @returns Stack → samples.
 */
export function parseTraces(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const block of text.split(/^-+\+-+$/m).slice(1)) {
    let count = 0;
    const frames: string[] = [];
    for (const line of block.split("\n")) {
      const first = /^\s*(\d+)\s{3}(\S.*)$/.exec(line);
      if (first) {
        count = Number(first[1]);
        frames.push(first[2]!);
      } else if (count > 0 && /^\s{13}\S/.test(line)) {
        frames.push(line.trim());
      }
    }
    if (count === 0) continue;
    const key = frames.map((f) => f.replace(/ \(inline\)$/, "")).reverse().join(
      ";",
    );
    out.set(key, (out.get(key) ?? 0) + count);
  }
  return out;
}

/**
 * Parses `-top` into function → flat count (nonzero only).
 *
 * @param text pprof's output.
 * @returns Function → self samples.
 */
export function parseTop(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^\s*(\d+)\s+[\d.]+%\s+[\d.]+%\s+\d+\s+[\d.]+%\s+(.*)$/.exec(
      line,
    );
    if (m && Number(m[1]) > 0) {
      out.set(m[2]!.replace(/ \(inline\)$/, ""), Number(m[1]));
    }
  }
  return out;
}

/**
 * Reads a folded file with kernel suffixes removed (pprof has plain names).
 *
 * @param path The folded file.
 * @returns Stack → samples.
 */
export async function readFolded(path: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const [stack, n] of await readFoldedFile(path)) {
    const key = stack.replaceAll("_[k]", "");
    out.set(key, (out.get(key) ?? 0) + n);
  }
  return out;
}

/**
 * Self samples per leaf function of folded stacks (what `-top` shows flat).
 *
 * @param folded Stack → samples.
 * @returns Leaf → samples.
 */
export function leafCounts(
  folded: ReadonlyMap<string, number>,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const [stack, n] of folded) {
    const leaf = stack.slice(stack.lastIndexOf(";") + 1);
    out.set(leaf, (out.get(leaf) ?? 0) + n);
  }
  return out;
}

/**
 * Entries sorted by key, for order-independent comparisons.
 *
 * @param m A map.
 * @returns Its entries by key.
 */
export function sortedEntries(
  m: ReadonlyMap<string, number>,
): [string, number][] {
  return [...m].sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
}
