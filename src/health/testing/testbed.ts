/**
 * Test support: network namespaces named `trtest-hl-<pid>-<suffix>` on a bridge, the processes in
 * them, and the driver that runs health operations from inside a node's namespace. Everything a
 * testbed makes carries its prefix, so cleanup removes exactly that, and a later run recognises
 * (by the dead pid in the name) what a crashed run left behind.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { run, type RunResult } from "../../util/exec.js";
import type { ResponderCommand } from "../health-endpoint.js";
import { isAlive, listensOn, terminate } from "../process-control.js";

export const TESTBED_PREFIX = "trtest-hl-";

const here = fileURLToPath(import.meta.url);
const fromSource = here.endsWith(".ts");
const ext = fromSource ? "ts" : "js";
const nodeImport = fromSource ? ["--import", import.meta.resolve("tsx")] : [];
const driverScript = join(dirname(here), `netns-driver.${ext}`);
const responderScript = join(dirname(here), `responder-main.${ext}`);

/** How a test starts the responder: this package's test entry, from source or from dist. */
export function testResponderCommand(): ResponderCommand {
  return { command: process.execPath, args: [...nodeImport, responderScript] };
}

export async function listNetns(): Promise<string[]> {
  const r = await run("ip", ["netns", "list"]);
  return r.stdout
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[0] ?? "")
    .filter(Boolean);
}

async function deleteWithProcesses(name: string): Promise<void> {
  const pids = (await run("ip", ["netns", "pids", name], { allowFailure: true })).stdout.split(/\s+/).filter(Boolean).map(Number);
  await terminate(pids, 1000);
  await run("ip", ["netns", "del", name], { allowFailure: true });
}

/** Removes namespaces (and their processes) of test runs whose process is gone. */
export async function removeLeftovers(): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await listNetns()) {
    const m = new RegExp(`^${TESTBED_PREFIX}(\\d+)-`).exec(name);
    if (!m || isAlive(Number(m[1]))) continue;
    await deleteWithProcesses(name);
    removed.push(name);
  }
  return removed;
}

export class Testbed {
  readonly prefix = `${TESTBED_PREFIX}${process.pid}-`;
  private readonly children = new Set<ChildProcess>();
  private fabricNs: string | undefined;
  private links = 0;

  private constructor(readonly workDir: string) {}

  static async create(): Promise<Testbed> {
    await removeLeftovers();
    return new Testbed(await mkdtemp(join(tmpdir(), "trellis-health-test-")));
  }

  name(suffix: string): string {
    return `${this.prefix}${suffix}`;
  }

  /** A namespace with `lo` up. */
  async namespace(suffix: string): Promise<string> {
    const ns = this.name(suffix);
    await run("ip", ["netns", "add", ns]);
    await run("ip", ["-n", ns, "link", "set", "dev", "lo", "up"]);
    return ns;
  }

  /** A node namespace whose eth0 (`cidr`, e.g. "198.18.251.11/24") hangs off the testbed's bridge. */
  async node(suffix: string, cidr: string): Promise<string> {
    if (!this.fabricNs) {
      this.fabricNs = await this.namespace("fabric");
      await run("ip", ["-n", this.fabricNs, "link", "add", "br0", "type", "bridge"]);
      await run("ip", ["-n", this.fabricNs, "link", "set", "br0", "up"]);
    }
    const ns = await this.namespace(suffix);
    const port = `p${++this.links}`;
    await run("ip", ["-n", this.fabricNs, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns]);
    await run("ip", ["-n", this.fabricNs, "link", "set", port, "master", "br0", "up"]);
    await run("ip", ["-n", ns, "addr", "add", cidr, "dev", "eth0"]);
    await run("ip", ["-n", ns, "link", "set", "eth0", "up"]);
    return ns;
  }

  /** Runs a command inside the namespace (network namespace only, as the agent's own commands run). */
  exec(ns: string, command: string, args: readonly string[], options: { input?: string; allowFailure?: boolean } = {}): Promise<RunResult> {
    return run("nsenter", [`--net=/run/netns/${ns}`, "--", command, ...args], { ...options, timeoutMs: 60_000 });
  }

  /** Starts a long-running process in the namespace; stopped by cleanup(). */
  spawn(ns: string, command: string, args: readonly string[]): ChildProcess {
    const child = spawn("nsenter", [`--net=/run/netns/${ns}`, "--", command, ...args], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, TRELLIS_LOG_LEVEL: "warn" } });
    this.children.add(child);
    child.on("exit", () => this.children.delete(child));
    return child;
  }

  /** A health server on ip:port in the namespace (the responder entry), resolved once it listens. */
  async healthServer(ns: string, ip: string, cluster: string, node: string, port = 4240): Promise<ChildProcess> {
    const { command, args } = testResponderCommand();
    const child = this.spawn(ns, command, [...args, "--ip", ip, "--port", String(port), "--cluster", cluster, "--node", node]);
    let stderr = "";
    child.stderr?.on("data", (b: Buffer) => (stderr += b.toString()));
    await waitFor(`the health server on ${ip}:${port} in ${ns}`, async () => {
      if (child.exitCode !== null) throw new Error(`the health server in ${ns} exited (${child.exitCode}): ${stderr}`);
      return child.pid !== undefined && listensOn(child.pid, ip, port);
    });
    return child;
  }

  /** Runs one driver request (netns-driver.ts) inside the namespace and returns its result. */
  async driver<T>(ns: string, request: unknown): Promise<T> {
    const r = await this.exec(ns, process.execPath, [...nodeImport, driverScript, JSON.stringify(request)], { allowFailure: true });
    const last = r.stdout.trim().split("\n").pop() ?? "";
    let reply: { ok: boolean; result?: T; error?: string };
    try {
      reply = JSON.parse(last) as typeof reply;
    } catch {
      throw new Error(`the health driver in ${ns} printed no result (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
    }
    if (!reply.ok) throw new Error(reply.error);
    return reply.result as T;
  }

  /** Stops every process this testbed started and deletes every namespace with its prefix. */
  async cleanup(): Promise<void> {
    for (const child of this.children) child.kill("SIGKILL");
    const errors: string[] = [];
    for (const name of (await listNetns()).filter((n) => n.startsWith(this.prefix))) {
      await deleteWithProcesses(name);
      if ((await listNetns()).includes(name)) errors.push(name);
    }
    await rm(this.workDir, { recursive: true, force: true });
    if (errors.length) throw new Error(`could not delete test namespaces: ${errors.join(", ")}`);
  }
}

/** Polls `condition` until it holds or `timeoutMs` passes; the error names what was awaited. */
export async function waitFor(what: string, condition: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
