/**
 * Gate for tests that need a real kernel, root and BPF: skipped with a
 * message on a developer machine without them, but FAILING under CI=true
 * (CI runs as root; a silent skip there would hide a broken setup).
 *
 * @module
 */
import { checkPrivileges } from "./privileges.ts";

/** Why live tests cannot run here, or undefined when they can. */
export const liveProblem: string | undefined = (() => {
  try {
    return checkPrivileges();
  } catch (e) {
    return `Cannot check privileges: ${e}`;
  }
})();

/** True when CI demands live tests. */
export const inCI = Deno.env.get("CI") === "true";

/**
 * `ignore` value for live tests: true (skip, with a logged reason) only when
 * not in CI and the machine cannot sample.
 */
export const skipLive: boolean = liveProblem !== undefined && !inCI;
if (skipLive) console.warn(`skipping live BPF tests: ${liveProblem}`);

/** Throws the reason in CI when live tests cannot run (instead of skipping). */
export function requireLive(): void {
  if (liveProblem !== undefined) {
    throw new Error(`live BPF test cannot run (CI=true): ${liveProblem}`);
  }
}

/**
 * Spawns `sh -c 'while :; do :; done'`, a process that burns one CPU.
 *
 * @returns The child; kill it when done.
 */
export function spawnBusy(): Deno.ChildProcess {
  return new Deno.Command("sh", {
    args: ["-c", "while :; do :; done"],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
}

/**
 * Waits, calling `tick` every `intervalMs` (a timer, not a blocking loop).
 *
 * @param ms Total time.
 * @param intervalMs Tick period.
 * @param tick Called on each tick.
 */
export async function pollFor(
  ms: number,
  intervalMs: number,
  tick: () => void,
): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, intervalMs));
    tick();
  }
}
