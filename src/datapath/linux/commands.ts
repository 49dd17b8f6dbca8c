import { readFile, writeFile } from "node:fs/promises";
import { CommandError, run, type RunResult } from "../../util/exec.js";
import { DatapathCommandError } from "../errors.js";

/** One line of an `ip -batch` / `bridge -batch` input and what it is for. */
export interface BatchLine<T> {
  readonly command: string;
  readonly tag: T;
}

export interface BatchFailure<T> {
  readonly tag: T;
  readonly command: string;
  /** What iproute2 printed for this line, e.g. "Error: Nexthop has invalid gateway.". */
  readonly message: string;
}

const TIMEOUT_MS = 60_000;

/**
 * iproute2 (`ip`, `bridge`) and sysctl, pointed at one network namespace: a named one (`ip -n`),
 * or, with no name, the namespace this process runs in (the agent inside a lab node).
 */
export class KernelTools {
  constructor(readonly netns?: string) {}

  private where(): string {
    return this.netns ? `network namespace "${this.netns}"` : "this process's network namespace";
  }

  private withNetns(args: readonly string[]): string[] {
    return this.netns ? ["-n", this.netns, ...args] : [...args];
  }

  private async exec(command: string, args: readonly string[], input?: string, allowFailure = false): Promise<RunResult> {
    try {
      return await run(command, args, { input, timeoutMs: TIMEOUT_MS, allowFailure });
    } catch (e) {
      const detail = e instanceof CommandError ? e.message : String(e);
      throw new DatapathCommandError(`${detail} (in ${this.where()})`, { cause: e });
    }
  }

  /** `ip -j ARGS`, parsed. With `missingDevice: "empty"`, a "Cannot find device" answer is []. */
  ipJson<T>(args: readonly string[], options: { missingDevice?: "empty" } = {}): Promise<T[]> {
    return this.json("ip", args, options);
  }

  bridgeJson<T>(args: readonly string[], options: { missingDevice?: "empty" } = {}): Promise<T[]> {
    return this.json("bridge", args, options);
  }

  private async json<T>(command: string, args: readonly string[], options: { missingDevice?: "empty" }): Promise<T[]> {
    const argv = this.withNetns(["-j", ...args]);
    const r = await this.exec(command, argv, undefined, true);
    if (r.code !== 0) {
      if (options.missingDevice === "empty" && /Cannot find device|does not exist/.test(r.stderr)) return [];
      throw new DatapathCommandError(`${command} ${argv.join(" ")}: ${r.stderr.trim() || `exit code ${r.code}`} (in ${this.where()})`);
    }
    const text = r.stdout.trim();
    try {
      return text ? (JSON.parse(text) as T[]) : [];
    } catch (e) {
      throw new DatapathCommandError(`${command} ${argv.join(" ")} printed output that is not JSON: ${text.slice(0, 200)}`, { cause: e });
    }
  }

  /** Runs `ip -force -batch -`: every line is tried; the lines that failed are returned. */
  ipBatch<T>(lines: readonly BatchLine<T>[]): Promise<BatchFailure<T>[]> {
    return this.batch("ip", lines);
  }

  bridgeBatch<T>(lines: readonly BatchLine<T>[]): Promise<BatchFailure<T>[]> {
    return this.batch("bridge", lines);
  }

  /**
   * `-force` keeps going past a failed line (plain -batch stops at the first error, leaving the
   * rest undone); iproute2 then prints "Command failed -:N" after each failed line's error,
   * which is how a failure is traced back to its line.
   */
  private async batch<T>(command: string, lines: readonly BatchLine<T>[]): Promise<BatchFailure<T>[]> {
    if (lines.length === 0) return [];
    const argv = this.withNetns(["-force", "-batch", "-"]);
    const r = await this.exec(command, argv, lines.map((l) => l.command).join("\n") + "\n", true);
    if (r.code === 0) return [];
    const failures: BatchFailure<T>[] = [];
    let pending: string[] = [];
    for (const raw of r.stderr.split("\n")) {
      const line = raw.trim();
      if (!line) continue;
      const failed = /^Command failed -:(\d+)$/.exec(line);
      if (!failed) {
        pending.push(line);
        continue;
      }
      const entry = lines[Number(failed[1]) - 1];
      if (entry) failures.push({ tag: entry.tag, command: entry.command, message: pending.join(" ") || "failed" });
      pending = [];
    }
    if (failures.length === 0) {
      throw new DatapathCommandError(`${command} ${argv.join(" ")}: ${r.stderr.trim() || `exit code ${r.code}`} (in ${this.where()})`);
    }
    return failures;
  }

  /** In this process's namespace /proc/sys is read directly; for a named one, through `ip netns exec`. */
  async readSysctl(name: string): Promise<string> {
    if (this.netns) return (await this.exec("ip", ["netns", "exec", this.netns, "sysctl", "-n", name])).stdout.trim();
    try {
      return (await readFile(sysctlPath(name), "utf8")).trim();
    } catch (e) {
      throw new DatapathCommandError(`cannot read sysctl ${name}: ${(e as Error).message}`, { cause: e });
    }
  }

  async writeSysctl(name: string, value: string): Promise<void> {
    if (this.netns) {
      await this.exec("ip", ["netns", "exec", this.netns, "sysctl", "-q", "-w", `${name}=${value}`]);
      return;
    }
    try {
      await writeFile(sysctlPath(name), value);
    } catch (e) {
      throw new DatapathCommandError(`cannot set sysctl ${name}=${value}: ${(e as Error).message}`, { cause: e });
    }
  }
}

function sysctlPath(name: string): string {
  return `/proc/sys/${name.replaceAll(".", "/")}`;
}
