/**
 * Facts about a live process read from `/proc/PID`: name, executable, command
 * line, start time (to tell a reused pid from the process we knew), and the
 * container id from its cgroup path. Everything here races with the process
 * exiting, so every reader returns `undefined` instead of throwing.
 *
 * @module
 */

const CONTAINER_ID = /([0-9a-f]{64})(?:\.scope)?$/;

function readText(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Start time of a process in clock ticks since boot (field 22 of
 * `/proc/PID/stat`). Two processes with the same pid never share it.
 *
 * @param pid Process id.
 * @param procRoot Mount point of procfs (tests use a fake one).
 * @returns The start time, or `undefined` when the process is gone.
 */
export function readStartTime(
  pid: number,
  procRoot = "/proc",
): number | undefined {
  const stat = readText(`${procRoot}/${pid}/stat`);
  if (stat === undefined) return undefined;
  return parseStartTime(stat);
}

/**
 * Extracts the start time from the text of `/proc/PID/stat`. The command name
 * may contain spaces and parentheses, so fields are counted from the last `)`.
 *
 * @param stat The file's contents.
 * @returns Field 22, or `undefined` when the text is malformed.
 *
 * @example
 * ```ts
 * import { parseStartTime } from "./process_info.ts";
 * const stat = "42 (a (b) c) S 1 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 777 0";
 * console.assert(parseStartTime(stat) === 777);
 * ```
 */
export function parseStartTime(stat: string): number | undefined {
  const close = stat.lastIndexOf(")");
  if (close < 0) return undefined;
  const fields = stat.slice(close + 2).split(" ");
  // fields[0] is field 3 (state); field 22 is fields[19].
  const v = Number(fields[19]);
  return Number.isSafeInteger(v) ? v : undefined;
}

/**
 * The container id in a `/proc/PID/cgroup` text: the last 64-hex-digit path
 * component (docker-ID.scope, cri-containerd-ID.scope, kubepods/.../ID).
 *
 * @param cgroup The file's contents.
 * @returns The id, or `undefined` outside containers.
 *
 * @example
 * ```ts
 * import { parseContainerId } from "./process_info.ts";
 * const id = "a".repeat(64);
 * console.assert(parseContainerId(`0::/system.slice/docker-${id}.scope\n`) === id);
 * ```
 */
export function parseContainerId(cgroup: string): string | undefined {
  for (const line of cgroup.split("\n")) {
    const path = line.slice(line.indexOf(":", line.indexOf(":") + 1) + 1);
    for (const part of path.split("/").reverse()) {
      const m = CONTAINER_ID.exec(part);
      if (m !== null) return m[1];
    }
  }
  return undefined;
}

/** What `/proc/PID` tells about a process. */
export interface ProcFacts {
  /** Main thread name. */
  readonly comm?: string;
  /** Executable path (target of `/proc/PID/exe`). */
  readonly exe?: string;
  /** Arguments joined by spaces. */
  readonly commandLine?: string;
  /** Container id from the cgroup path. */
  readonly containerId?: string;
  /** Start time in clock ticks since boot. */
  readonly startTime?: number;
}

/**
 * Reads what is readable of a process's facts; missing pieces stay absent.
 *
 * @param pid Process id.
 * @param procRoot Mount point of procfs.
 * @returns The facts.
 */
export function readProcFacts(pid: number, procRoot = "/proc"): ProcFacts {
  const facts: {
    comm?: string;
    exe?: string;
    commandLine?: string;
    containerId?: string;
    startTime?: number;
  } = {};
  const comm = readText(`${procRoot}/${pid}/comm`)?.trimEnd();
  if (comm) facts.comm = comm;
  try {
    facts.exe = Deno.readLinkSync(`${procRoot}/${pid}/exe`).replace(
      / \(deleted\)$/,
      "",
    );
  } catch {
    // kernel threads and vanished processes have none
  }
  const cmdline = readText(`${procRoot}/${pid}/cmdline`);
  if (cmdline) {
    const args = cmdline.split("\0");
    if (args[args.length - 1] === "") args.pop();
    if (args.length > 0) facts.commandLine = args.join(" ");
  }
  const cgroup = readText(`${procRoot}/${pid}/cgroup`);
  const containerId = cgroup === undefined
    ? undefined
    : parseContainerId(cgroup);
  if (containerId !== undefined) facts.containerId = containerId;
  const startTime = readStartTime(pid, procRoot);
  if (startTime !== undefined) facts.startTime = startTime;
  return facts;
}
