import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * End-to-end helpers: run the real `trellis` CLI as a user would (the built bin/trellis.js), with a
 * config file of the test's own, and wait for conditions with a deadline instead of sleeping.
 */
const ROOT = resolve(fileURLToPath(new URL(".", import.meta.url)), "..", "..", "..");
const BIN = join(ROOT, "bin", "trellis.js");

export const configDir = mkdtempSync(join(tmpdir(), "trellis-e2e-"));
export const env = { ...process.env, TRELLIS_CONFIG: join(configDir, "config"), NODE_NO_WARNINGS: "1" };

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function trellis(args: readonly string[], options: { allowFailure?: boolean; timeoutMs?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: "utf8", timeout: options.timeoutMs ?? 240_000 });
  const out = { code: r.status ?? 1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  if (out.code !== 0 && !options.allowFailure) {
    const extra = args[0] === "clustermesh" && args.includes("--wait") ? `\n${meshDiagnostics()}` : "";
    throw new Error(`trellis ${args.join(" ")} exited ${out.code}\nstdout: ${out.stdout}\nstderr: ${out.stderr}${extra}`);
  }
  return out;
}

/**
 * When a mesh does not come up, the kernel state on the path between clusters: each control
 * plane's routes (the load-balancer pools must be routed) and each node's service frontends (the
 * load-balancer IP must be DNATed where the route leads), so a rare failure explains itself.
 */
function meshDiagnostics(): string {
  const sh = (args: string[]) => spawnSync("ip", args, { encoding: "utf8" }).stdout.trim();
  const namespaces = sh(["netns", "list"]).split("\n").map((l) => l.split(" ")[0]!).filter((n) => /^trl-c\d+-(cp|n\d+)$/.test(n)).sort();
  const parts = namespaces.map((ns) => {
    const routes = sh(["-n", ns, "route", "show"]);
    const lb = ns.endsWith("-cp") ? "" : `\n  nft lb: ${sh(["netns", "exec", ns, "nft", "list", "map", "ip", "trellis_lb", "service_ips"]).replace(/\s+/g, " ").slice(0, 1500)}`;
    return `${ns}:\n  routes: ${routes.replace(/\n/g, "; ")}${lb}`;
  });
  return `diagnostics:\n${parts.join("\n")}`;
}

export function trellisJson<T>(args: readonly string[]): T {
  return JSON.parse(trellis([...args, "-o", "json"]).stdout) as T;
}

/** Starts a long-running CLI command (e.g. an exec'd curl stream) and collects its output. */
export function trellisBackground(args: readonly string[]): { done: Promise<CliResult>; output: () => string } {
  const child = spawn(process.execPath, [BIN, ...args], { env });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
  child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
  const done = new Promise<CliResult>((resolvePromise) => child.on("close", (code) => resolvePromise({ code: code ?? 1, stdout, stderr })));
  return { done, output: () => stdout };
}

export async function eventually<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 60_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ""}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export interface PodRow {
  name: string;
  namespace: string;
  node: string;
  status: string;
  ip?: string;
  labels: Record<string, string>;
}

export function pods(context: string): PodRow[] {
  return trellisJson<PodRow[]>(["get", "pods", "--context", context]);
}

export async function runningPods(context: string, count: number, timeoutMs = 90_000): Promise<PodRow[]> {
  return eventually(`${count} running pods in ${context}`, () => {
    const p = pods(context);
    return p.length === count && p.every((x) => x.status === "Running" && x.ip) ? p : undefined;
  }, timeoutMs);
}

/** What of the lab is left in the kernel and on disk: everything here must be empty after `lab down`. */
export function labLeftovers(labDir = "/var/lib/trellis/lab"): string[] {
  const left: string[] = [];
  const ns = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout.split("\n").filter((l) => l.startsWith("trl-"));
  if (ns.length) left.push(`namespaces: ${ns.join(", ")}`);
  const links = spawnSync("ip", ["-br", "link", "show"], { encoding: "utf8" }).stdout.split("\n").filter((l) => l.startsWith("trl-"));
  if (links.length) left.push(`links: ${links.join(", ")}`);
  const routes = spawnSync("ip", ["route", "show"], { encoding: "utf8" }).stdout.split("\n").filter((l) => /198\.1[89]\.|100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\./.test(l));
  if (routes.length) left.push(`routes: ${routes.join("; ")}`);
  const rules = spawnSync("ip", ["rule", "show"], { encoding: "utf8" }).stdout.split("\n").filter((l) => /198\.1[89]|100\.6|trl/.test(l));
  if (rules.length) left.push(`rules: ${rules.join("; ")}`);
  if (existsSync(labDir)) left.push(`directory ${labDir}`);
  const procs = spawnSync("pgrep", ["-af", "trellis.js (agent|operator|lab pod-runner|lab pod-server)|etcd --name cluster-"], { encoding: "utf8" }).stdout.trim();
  if (procs) left.push(`processes: ${procs}`);
  return left;
}

/** Whatever a crashed earlier run left behind is removed before a test builds its lab. */
export function freshStart(): void {
  trellis(["lab", "down"], { allowFailure: true });
}

export function cleanupConfigDir(): void {
  rmSync(configDir, { recursive: true, force: true });
}
