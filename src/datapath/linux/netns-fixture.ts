/**
 * Test support: network namespaces named `trtest-dp-<pid>-<n>-<suffix>`, so that a test removes
 * exactly what it made, and a later run can recognise (by the dead pid) what a crashed run left.
 */
import { run } from "../../util/exec.js";

export const TEST_NETNS_PREFIX = "trtest-dp-";

let fixtures = 0;

export async function listNamespaces(): Promise<string[]> {
  const r = await run("ip", ["netns", "list"]);
  return r.stdout
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[0] ?? "")
    .filter(Boolean);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Deletes test namespaces whose creating process is gone; those of running tests stay. */
export async function removeLeftoverNamespaces(prefix = TEST_NETNS_PREFIX): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await listNamespaces()) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split("-")[0]);
    if (!Number.isInteger(pid) || pid <= 0 || alive(pid)) continue;
    await run("ip", ["netns", "del", name], { allowFailure: true });
    removed.push(name);
  }
  return removed;
}

export class NetnsFixture {
  private readonly made: string[] = [];

  private constructor(readonly prefix: string) {}

  /** `prefix` (ending in "-") lets a suite keep its namespaces apart from the others', e.g. "trtest-pol-". */
  static async create(prefix = TEST_NETNS_PREFIX): Promise<NetnsFixture> {
    await removeLeftoverNamespaces(prefix);
    fixtures += 1;
    return new NetnsFixture(`${prefix}${process.pid}-${fixtures}`);
  }

  /** A new namespace with `lo` up. */
  async namespace(suffix: string): Promise<string> {
    const name = `${this.prefix}-${suffix}`;
    await run("ip", ["netns", "add", name]);
    this.made.push(name);
    await this.ip(name, "link", "set", "dev", "lo", "up");
    return name;
  }

  ip(netns: string, ...args: string[]): Promise<string> {
    return run("ip", ["-n", netns, ...args]).then((r) => r.stdout);
  }

  async ipJson<T>(netns: string, ...args: string[]): Promise<T[]> {
    const out = (await run("ip", ["-n", netns, "-j", ...args])).stdout.trim();
    return out ? (JSON.parse(out) as T[]) : [];
  }

  /** Runs a program inside the namespace. */
  exec(netns: string, command: string, args: readonly string[], options: { allowFailure?: boolean; input?: string } = {}) {
    return run("ip", ["netns", "exec", netns, command, ...args], options);
  }

  /** Deletes every namespace this fixture made (their interfaces go with them). */
  async cleanup(): Promise<void> {
    const errors: string[] = [];
    for (const name of this.made.splice(0).reverse()) {
      const r = await run("ip", ["netns", "del", name], { allowFailure: true });
      if (r.code !== 0 && !/No such file/.test(r.stderr)) errors.push(`${name}: ${r.stderr.trim()}`);
    }
    if (errors.length) throw new Error(`could not delete test namespaces: ${errors.join("; ")}`);
  }
}

/** Polls `condition` until it holds or `timeoutMs` passes; the error names what was awaited. */
export async function waitFor(what: string, condition: () => Promise<boolean>, timeoutMs = 10_000, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
