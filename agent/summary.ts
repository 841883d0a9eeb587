/**
 * The summary the agent prints when it stops: samples per process, the top
 * functions by self and total samples (like `pprof -top`), and every loss
 * counter, so a reader sees both what was hot and what was missed.
 *
 * @module
 */
import { pushFoldedFrames } from "../exporters/folded.ts";
import type { ProfileWindow } from "../pipeline/model.ts";
import type { ProfilerStats } from "./profiler.ts";

/** Running totals across windows. */
export class SummaryCollector {
  /** Samples seen. */
  total = 0;
  #self = new Map<string, number>();
  #cumulative = new Map<string, number>();
  #perProcess = new Map<string, number>();

  /**
   * Adds a window.
   *
   * @param window The window.
   */
  add(window: ProfileWindow): void {
    const frames: string[] = [];
    for (const p of window.processes) {
      const pname = `${p.process.name} [${p.process.pid}]`;
      for (const g of p.samples) {
        this.total += g.count;
        this.#perProcess.set(
          pname,
          (this.#perProcess.get(pname) ?? 0) + g.count,
        );
        frames.length = 0;
        for (let i = g.stack.length - 1; i >= 0; i--) {
          pushFoldedFrames(g.stack[i]!, frames);
        }
        const leaf = frames[frames.length - 1];
        if (leaf !== undefined) {
          this.#self.set(leaf, (this.#self.get(leaf) ?? 0) + g.count);
        }
        for (const f of new Set(frames)) {
          this.#cumulative.set(f, (this.#cumulative.get(f) ?? 0) + g.count);
        }
      }
    }
  }

  /**
   * Renders the summary.
   *
   * @param stats The profiler's counters.
   * @param top How many functions and processes to list.
   * @returns Text for stdout.
   */
  render(stats: ProfilerStats, top: number): string {
    const pct = (n: number) =>
      this.total === 0 ? "0.0%" : `${(100 * n / this.total).toFixed(1)}%`;
    const lines: string[] = [];
    lines.push(`denoprof: ${this.total} samples in ${stats.windows} window(s)`);
    lines.push("");
    lines.push("Top processes:");
    for (const [name, n] of sorted(this.#perProcess).slice(0, top)) {
      lines.push(`  ${String(n).padStart(8)} ${pct(n).padStart(6)}  ${name}`);
    }
    lines.push("");
    lines.push("Top functions:      self            total");
    for (const [name, n] of sorted(this.#self).slice(0, top)) {
      const cum = this.#cumulative.get(name) ?? n;
      lines.push(
        `  ${String(n).padStart(8)} ${pct(n).padStart(6)}  ${
          String(cum).padStart(8)
        } ${pct(cum).padStart(6)}  ${name}`,
      );
    }
    lines.push("");
    const k = stats.kernel;
    lines.push(
      `Kernel: ${k.samples ?? 0} samples taken, lost ${
        k.ringbufFull ?? 0
      } (ring buffer full); ` +
        `${k.ustackFault ?? 0} user stack copies ended on a fault, ${
          k.kstackError ?? 0
        } kernel stack errors, ` +
        `${k.idle ?? 0} idle, ${k.filtered ?? 0} filtered out`,
    );
    lines.push(
      `Userspace: ${stats.records} records, ${stats.decodeErrors} undecodable, ` +
        `${stats.pipeline.pipelineErrors ?? 0} failed in the pipeline, ` +
        `${stats.windowsDropped} windows dropped`,
    );
    for (const m of stats.errorMessages ?? []) {
      lines.push(`  pipeline error: ${m}`);
    }
    const reasons = Object.entries(stats.unwindErrors).sort((a, b) =>
      b[1] - a[1]
    );
    lines.push(
      reasons.length === 0
        ? "Unwinding: every stack reached its root"
        : `Unwinding stopped early: ${
          reasons.map(([r, n]) => `${r} ${n}`).join(", ")
        }`,
    );
    return lines.join("\n");
  }
}

function sorted(m: Map<string, number>): [string, number][] {
  return [...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}
