import { readFile, writeFile } from "node:fs/promises";
import { CommandError, run, type RunResult } from "../../util/exec.js";
import { DatapathCommandError, DatapathEnvironmentError } from "../errors.js";

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

/** What `nft -j list ...` prints: a list of one-key objects ({table}, {chain}, {rule}, {map}, ...). */
export interface NftJson {
  readonly nftables: readonly Record<string, unknown>[];
}

const NFT_MISSING = /could not start|exec of "nft" failed|No such file or directory.*nft/;

/**
 * iproute2 (`ip`, `bridge`), nft and sysctl, pointed at one network namespace: a named one
 * (`ip -n`, `ip netns exec` for nft), or, with no name, the namespace this process runs in (the
 * agent inside a lab node).
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

  private nft(args: readonly string[], input?: string): Promise<RunResult> {
    const [command, argv] = this.netns ? ["ip", ["netns", "exec", this.netns, "nft", ...args]] : ["nft", [...args]];
    return this.exec(command, argv, input, true).catch((e: unknown) => {
      if (e instanceof DatapathCommandError && NFT_MISSING.test(e.message)) throw nftMissing(this.where());
      throw e;
    });
  }

  /** `nft -j list table FAMILY NAME`, parsed; undefined when there is no such table. */
  async nftListTable(family: string, name: string): Promise<NftJson | undefined> {
    const r = await this.nft(["-j", "list", "table", family, name]);
    if (r.code !== 0) {
      if (/No such file or directory/.test(r.stderr) && !NFT_MISSING.test(r.stderr)) return undefined;
      if (NFT_MISSING.test(r.stderr)) throw nftMissing(this.where());
      throw new DatapathCommandError(`nft -j list table ${family} ${name}: ${r.stderr.trim() || `exit code ${r.code}`} (in ${this.where()})`);
    }
    try {
      return JSON.parse(r.stdout) as NftJson;
    } catch (e) {
      throw new DatapathCommandError(`nft -j list table ${family} ${name} printed output that is not JSON: ${r.stdout.slice(0, 200)}`, { cause: e });
    }
  }

  /** `nft -f -`: the kernel applies the whole script as one transaction, or none of it. */
  async nftApply(script: string): Promise<void> {
    const r = await this.nft(["-f", "-"], script);
    if (r.code === 0) return;
    if (NFT_MISSING.test(r.stderr)) throw nftMissing(this.where());
    // nft prints each failing command with a caret line under it; the first few say enough.
    const detail = r.stderr.trim().split("\n").slice(0, 6).join(" | ");
    throw new DatapathCommandError(`nft -f - (${script.split("\n").length} lines): ${detail || `exit code ${r.code}`} (in ${this.where()})`);
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

function nftMissing(where: string): DatapathEnvironmentError {
  return new DatapathEnvironmentError(`nft is not installed (needed for services, in ${where}); install the Debian package nftables`);
}

function sysctlPath(name: string): string {
  return `/proc/sys/${name.replaceAll(".", "/")}`;
}
