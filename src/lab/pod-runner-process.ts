import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync } from "node:fs";
import { readFile, readlink, stat } from "node:fs/promises";
import { constants } from "node:os";
import { dirname, join } from "node:path";
import { killPids, netnsPids } from "./netns.js";
import { netnsPath } from "./pod-netns.js";

/**
 * The processes of a lab pod: its server, started detached inside the pod's namespace (so it
 * outlives a restart of the pod runner, as containers outlive a kubelet restart), and commands a
 * user runs there with `trellis exec`.
 */

/** How to start a pod's server: the runner appends the pod's identity and ports. */
export interface PodServerCommand {
  readonly command: string;
  readonly args: readonly string[];
}

export interface PodServerIdentity {
  readonly name: string;
  readonly namespace: string;
  readonly node: string;
  readonly cluster: string;
  readonly ports: readonly number[];
}

export function podServerArgv(base: PodServerCommand, pod: PodServerIdentity): string[] {
  const args = [...base.args, "--name", pod.name, "--namespace", pod.namespace, "--node", pod.node, "--cluster", pod.cluster];
  if (pod.ports.length > 0) args.push("--ports", pod.ports.join(","));
  return [base.command, ...args];
}

/** `<state dir>/pods/<ns>_<name>.log` */
export function podLogFile(stateDir: string, namespace: string, name: string): string {
  return join(stateDir, "pods", `${namespace}_${name}.log`);
}

/**
 * Starts `argv` inside `netns`, detached, output appended to `logFile`. `ip netns exec` replaces
 * itself with the command, so the child's PID is the server's.
 */
export function startInNetns(netns: string, argv: readonly string[], logFile: string): ChildProcess {
  mkdirSync(dirname(logFile), { recursive: true });
  const log = openSync(logFile, "a");
  try {
    const child = spawn("ip", ["netns", "exec", netns, ...argv], { detached: true, stdio: ["ignore", log, log] });
    child.unref();
    // A spawn failure arrives as an event; the exit that follows is what callers watch for.
    child.on("error", () => undefined);
    return child;
  } finally {
    closeSync(log);
  }
}

/** True when `child` (spawned by this process) has not exited. */
export function childRunning(child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null;
}

/**
 * True when `pid` is a live process inside `netns`. The namespace check guards against PID reuse
 * after a restart of the runner: a recycled PID is almost surely somewhere else.
 */
export async function runsInNetns(pid: number, netns: string): Promise<boolean> {
  try {
    const statLine = await readFile(`/proc/${pid}/stat`, "utf8");
    if (/^\d+ \(.*\) [ZX]/s.test(statLine)) return false;
    const link = await readlink(`/proc/${pid}/ns/net`);
    const ino = (await stat(netnsPath(netns))).ino;
    return link === `net:[${ino}]`;
  } catch {
    return false;
  }
}

export async function netnsExists(netns: string): Promise<boolean> {
  try {
    await stat(netnsPath(netns));
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM (then SIGKILL after `graceMs`) every process inside the namespace. */
export async function stopNetnsProcesses(netns: string, graceMs = 3000): Promise<void> {
  if (!(await netnsExists(netns))) return;
  await killPids(await netnsPids(netns), graceMs);
}

export class PodExecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PodExecError";
  }
}

/**
 * Runs `argv` inside a pod's namespace with this process's stdio (for `trellis exec`); resolves
 * with its exit code (128 + signal number when killed by a signal, as shells report it).
 */
export async function execInPod(netns: string, argv: readonly string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === "") throw new PodExecError(`no command given to run in pod namespace ${netns}`);
  if (!(await netnsExists(netns))) {
    throw new PodExecError(`pod network namespace ${netns} does not exist (${netnsPath(netns)}); is the pod running? check its status`);
  }
  return new Promise((resolve, reject) => {
    const child = spawn("ip", ["netns", "exec", netns, ...argv], { stdio: "inherit" });
    child.on("error", (e) => reject(new PodExecError(`could not run ip netns exec ${netns} ${argv.join(" ")}: ${e.message}`)));
    child.on("close", (code, signal) => resolve(code ?? 128 + signalNumber(signal)));
  });
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return (signal && constants.signals[signal]) || 1;
}
