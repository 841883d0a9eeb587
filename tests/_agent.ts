/**
 * Helpers for end-to-end tests that run the real agent as a subprocess:
 * compiling C fixtures, spawning workloads, running `agent/main.ts`, reading
 * its machine-readable stats line and its folded output, and measuring how
 * much CPU a workload actually got (the sample count a test can expect).
 *
 * @module
 */
import { assert } from "./assert.ts";

const root = new URL("..", import.meta.url).pathname;

/** Absolute path of a file in the repository. */
export function repoPath(rel: string): string {
  return `${root}${rel}`;
}

let cDir: string | undefined;

/**
 * Compiles a C fixture from tests/fixtures/c (cached per test process).
 *
 * @param name Source file name without `.c`.
 * @param flags gcc flags.
 * @returns Path of the binary.
 */
export async function buildC(name: string, flags: string[]): Promise<string> {
  cDir ??= await Deno.makeTempDir({ prefix: "denoprof-c-" });
  // One folder per flag set so the binary keeps its name (it becomes comm).
  const dir = `${cDir}/${
    flags.join("").replace(/[^a-zA-Z0-9]/g, "") || "plain"
  }`;
  await Deno.mkdir(dir, { recursive: true });
  const out = `${dir}/${name}`;
  try {
    await Deno.stat(out);
    return out;
  } catch {
    // not built yet
  }
  const r = await new Deno.Command("gcc", {
    args: [...flags, "-o", out, repoPath(`tests/fixtures/c/${name}.c`)],
    stderr: "piped",
  }).output();
  assert(r.success, `gcc ${name}: ${new TextDecoder().decode(r.stderr)}`);
  return out;
}

/**
 * The command that runs `agent/main.ts` with `args`, stdout and stderr piped.
 *
 * @param args Agent flags.
 * @param options Further command options (env, cwd, stdin, ...).
 * @returns The command, to `output()` or `spawn()`.
 */
export function agentCommand(
  args: string[],
  options: Omit<Deno.CommandOptions, "args"> = {},
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    stdout: "piped",
    stderr: "piped",
    ...options,
    args: ["run", "--allow-all", repoPath("agent/main.ts"), ...args],
  });
}

/**
 * Parses the agent's machine-readable `denoprof-stats {json}` line.
 *
 * @param stdout The agent's standard output.
 * @returns The parsed stats, or `undefined` when the line is missing.
 */
// deno-lint-ignore no-explicit-any
export function parseStats(stdout: string): any {
  const line = stdout.split("\n").find((l) => l.startsWith("denoprof-stats "));
  return line === undefined
    ? undefined
    : JSON.parse(line.slice("denoprof-stats ".length));
}

/** Result of one agent run. */
export interface AgentRun {
  /** Exit code. */
  readonly code: number;
  /** Standard output. */
  readonly stdout: string;
  /** Standard error. */
  readonly stderr: string;
  /** Parsed `denoprof-stats` line, when printed. */
  // deno-lint-ignore no-explicit-any
  readonly stats: any;
}

/**
 * Runs the agent to completion.
 *
 * @param args Agent flags.
 * @param options Extra environment.
 * @returns Exit code, output and stats.
 */
export async function runAgent(
  args: string[],
  options: { env?: Record<string, string> } = {},
): Promise<AgentRun> {
  const r = await agentCommand(args, { env: options.env ?? {} }).output();
  const stdout = new TextDecoder().decode(r.stdout);
  const stderr = new TextDecoder().decode(r.stderr);
  return { code: r.code, stdout, stderr, stats: parseStats(stdout) };
}

/**
 * Runs the agent and calls `onSampling` the moment it reports that sampling
 * started (its "denoprof: sampling" line), so a test can bracket exactly the
 * sampled period, e.g. with {@linkcode cpuSeconds}.
 *
 * @param args Agent flags.
 * @param onSampling Called once when sampling starts.
 * @returns Exit code, output and stats.
 */
export async function runAgentBracketed(
  args: string[],
  onSampling: () => void,
  onStopping: () => void = () => {},
): Promise<AgentRun> {
  const child = agentCommand(args).spawn();
  const stdoutText = new Response(child.stdout).text();
  let stderr = "";
  let seen = false;
  let stopped = false;
  for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
    stderr += chunk;
    if (!seen && stderr.includes("denoprof: sampling")) {
      seen = true;
      onSampling();
    }
    if (!stopped && stderr.includes("denoprof: stopping")) {
      stopped = true;
      onStopping();
    }
  }
  const status = await child.status;
  const stdout = await stdoutText;
  return { code: status.code, stdout, stderr, stats: parseStats(stdout) };
}

/**
 * Reads a folded file into stack → count.
 *
 * @param path The file.
 * @returns The stacks.
 */
export async function readFolded(path: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await Deno.readTextFile(path)).split("\n")) {
    if (line === "") continue;
    const sp = line.lastIndexOf(" ");
    out.set(
      line.slice(0, sp),
      (out.get(line.slice(0, sp)) ?? 0) + Number(line.slice(sp + 1)),
    );
  }
  return out;
}

/**
 * CPU seconds (user + system) a process and its threads have used so far.
 *
 * @param pid Process id.
 * @returns Seconds, or `undefined` when it is gone.
 */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 (f[11], f[12]) in clock ticks (100/s).
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return undefined;
  }
}
