/**
 * File naming for exporters that write one file per window: window 0 goes to
 * PATH itself, window n ≥ 1 to PATH with `.n` before the extension
 * (`out.pb.gz` → `out.1.pb.gz`; `out` → `out.1`). A run with one window (the
 * usual `--duration` run) thus writes exactly PATH.
 *
 * @module
 */

/** Extensions kept together when inserting the window index. */
const DOUBLE_EXTENSIONS = [".pb.gz", ".pprof.gz", ".json.gz", ".folded.gz"];

/**
 * The file for window `index` of an exporter writing to `path`.
 *
 * @param path The PATH of the exporter spec.
 * @param index 0-based window index.
 * @returns The path to write.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { windowPath } from "./_window_path.ts";
 * strictEqual(windowPath("/tmp/p.pb", 0), "/tmp/p.pb");
 * strictEqual(windowPath("/tmp/p.pb", 2), "/tmp/p.2.pb");
 * strictEqual(windowPath("/tmp/cpu.pprof.gz", 1), "/tmp/cpu.1.pprof.gz");
 * ```
 */
export function windowPath(path: string, index: number): string {
  if (index === 0) return path;
  const slash = path.lastIndexOf("/");
  const base = path.slice(slash + 1);
  let ext = DOUBLE_EXTENSIONS.find((e) =>
    base.endsWith(e) && base.length > e.length
  );
  if (ext === undefined) {
    const dot = base.lastIndexOf(".");
    ext = dot > 0 ? base.slice(dot) : "";
  }
  return `${path.slice(0, path.length - ext.length)}.${index}${ext}`;
}
