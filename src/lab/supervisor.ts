import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { killPids } from "./netns.js";

/**
 * Starts the lab's daemons as real, detached processes inside their namespaces, with their output
 * in a log file and their PID in a pid file, so that a later CLI invocation can see, stop or
 * restart them. (The CLI that started them exits; the daemons keep running.)
 */
export interface DaemonSpec {
  /** Unique within the lab, e.g. "cluster-1/etcd" or "cluster-1/node-2/agent". */
  readonly name: string;
  readonly netns: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly logFile: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Started only when a feature asks for it (KVStoreMesh), not by `lab up` itself. */
  readonly onDemand?: boolean;
}

export class Supervisor {
  constructor(private readonly pidDir: string) {}

  private pidFile(name: string): string {
    return join(this.pidDir, `${name.replaceAll("/", "_")}.pid`);
  }

  pid(name: string): number | undefined {
    const f = this.pidFile(name);
    if (!existsSync(f)) return undefined;
    const pid = Number(readFileSync(f, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
  }

  isRunning(name: string): boolean {
    return this.pid(name) !== undefined;
  }

  /** Starts the daemon unless it already runs; returns its PID. */
  start(spec: DaemonSpec): number {
    const running = this.pid(spec.name);
    if (running) return running;
    mkdirSync(this.pidDir, { recursive: true });
    mkdirSync(dirname(spec.logFile), { recursive: true });
    const log = openSync(spec.logFile, "a");
    try {
      // nsenter switches only the network namespace. `ip netns exec` would also give the daemon a
      // private mount namespace, and namespaces it creates (pod runners create pod namespaces)
      // would then be mounted where no other process can see them.
      const child = spawn("nsenter", [`--net=/run/netns/${spec.netns}`, "--", spec.command, ...spec.args], {
        detached: true,
        stdio: ["ignore", log, log],
        env: { ...process.env, ...spec.env },
      });
      if (!child.pid) throw new Error(`could not start ${spec.name} (${spec.command})`);
      child.unref();
      writeFileSync(this.pidFile(spec.name), String(child.pid));
      return child.pid;
    } finally {
      closeSync(log);
    }
  }

  async stop(name: string, graceMs = 5000): Promise<void> {
    const pid = this.pid(name);
    if (pid) await killPids([pid], graceMs);
    rmSync(this.pidFile(name), { force: true });
  }

  /** SIGKILL: for tests that simulate a crash. */
  async kill(name: string): Promise<void> {
    const pid = this.pid(name);
    if (pid) await killPids([pid], 0);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers signal 0; treat it as gone.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}
