import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run, type RunResult } from "../../util/exec.js";
import type { EtcdConfig } from "../etcd-config.js";

/**
 * A real etcd (Debian's `etcd` binary) for tests, benchmarks and the lab: free loopback ports, a
 * temporary data directory, optional TLS with client-certificate auth. It is stopped and its
 * directory removed by `cleanup()`; should the owner forget or die, a guard process kills it.
 */

export interface EtcdProcessTls {
  /** CA (PEM) that signed the server certificate and that client certificates must chain to. */
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /**
   * Client certificate and key (PEM) used by this helper for readiness probes, `etcdctl` and
   * `config()`. Required with client-certificate auth; give it CN `root` to administer RBAC.
   */
  readonly clientCert?: string;
  readonly clientKey?: string;
  /** Refuse clients without a certificate signed by `ca` (default true). */
  readonly clientCertAuth?: boolean;
}

export interface EtcdProcessOptions {
  readonly tls?: EtcdProcessTls;
  /** Member name (default "trellis-test"). */
  readonly name?: string;
  /** More etcd flags, e.g. ["--auto-compaction-retention=1"]. */
  readonly extraArgs?: readonly string[];
  /** How long start/restart wait for etcd to serve (default 20 s). */
  readonly readyTimeoutMs?: number;
  /** Address etcd listens on and advertises (default 127.0.0.1; a lab namespace's address). */
  readonly host?: string;
  /** Fixed ports instead of free ones (a lab's etcd on 2379/2380 inside its namespace). */
  readonly clientPort?: number;
  readonly peerPort?: number;
  /** Runs etcd through this, e.g. ["ip", "netns", "exec", "lab-c1-cp"]. */
  readonly commandPrefix?: readonly string[];
}

const live = new Set<EtcdProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Synchronous last resort for a test process that exits without cleaning up (a thrown
  // assertion in a hook, process.exit): the guard process covers harder deaths.
  process.on("exit", () => {
    for (const etcd of live) etcd.killSync();
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export class EtcdProcess {
  private child: ChildProcess | undefined;
  private guard: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private logTail = "";
  private removed = false;

  private constructor(
    readonly clientPort: number,
    readonly peerPort: number,
    /** Temporary directory holding `data/` and `tls/`; removed by cleanup(). */
    readonly baseDir: string,
    private readonly options: EtcdProcessOptions,
  ) {}

  /** Starts etcd on free loopback ports and resolves once it serves linearizable reads. */
  static async start(options: EtcdProcessOptions = {}): Promise<EtcdProcess> {
    const tls = options.tls;
    if (tls && (tls.clientCertAuth ?? true) && !(tls.clientCert && tls.clientKey)) {
      throw new Error("EtcdProcess: tls.clientCert and tls.clientKey are required with client-certificate auth (the readiness probe needs them)");
    }
    installExitHook();
    let lastError: unknown;
    // Another process may take a port between our probe and etcd's bind: try fresh ports.
    for (let attempt = 0; attempt < 3; attempt++) {
      const clientPort = options.clientPort ?? (await freePort());
      const peerPort = options.peerPort ?? (await freePort());
      const etcd = new EtcdProcess(clientPort, peerPort, mkdtempSync(join(tmpdir(), "trellis-etcd-")), options);
      try {
        etcd.writeTlsFiles();
        await etcd.launch();
        return etcd;
      } catch (e) {
        lastError = e;
        await etcd.cleanup();
        if (!/address already in use/.test(String(e)) || (options.clientPort && options.peerPort)) break;
      }
    }
    throw lastError;
  }

  get dataDir(): string {
    return join(this.baseDir, "data");
  }

  private get tlsDir(): string {
    return join(this.baseDir, "tls");
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private get host(): string {
    return this.options.host ?? "127.0.0.1";
  }

  /**
   * The client URL. With TLS on loopback it is `https://localhost:<port>`: the server certificate
   * should name localhost, since Node warns (DEP0123) when TLS is given an IP address as name.
   */
  get endpoint(): string {
    const name = this.options.tls && this.host === "127.0.0.1" ? "localhost" : this.host;
    return `${this.options.tls ? "https" : "http"}://${name}:${this.clientPort}`;
  }

  /** A client configuration for this etcd, with this helper's client certificate if it has one. */
  config(overrides: Partial<EtcdConfig> = {}): EtcdConfig {
    const tls = this.options.tls;
    return {
      endpoints: [this.endpoint],
      ...(tls ? { tls: { ca: tls.ca, ...(tls.clientCert && tls.clientKey ? { cert: tls.clientCert, key: tls.clientKey } : {}) } } : {}),
      ...overrides,
    };
  }

  /** Runs `etcdctl` (API v3) against this etcd with this helper's credentials; returns stdout. */
  async etcdctl(args: readonly string[], options: { allowFailure?: boolean } = {}): Promise<RunResult> {
    const flags = [`--endpoints=${this.endpoint}`, "--dial-timeout=5s", "--command-timeout=10s"];
    if (this.options.tls) {
      flags.push(`--cacert=${join(this.tlsDir, "ca.pem")}`);
      if (this.options.tls.clientCert) flags.push(`--cert=${join(this.tlsDir, "client.pem")}`, `--key=${join(this.tlsDir, "client-key.pem")}`);
    }
    return run("etcdctl", [...flags, ...args], { env: { ETCDCTL_API: "3" }, allowFailure: options.allowFailure, timeoutMs: 30_000 });
  }

  /** Graceful stop (SIGTERM), waiting for the process to exit. */
  async stop(): Promise<void> {
    await this.signal("SIGTERM");
  }

  /** SIGKILL, as a crash or power loss would; the data directory stays for restart(). */
  async kill(): Promise<void> {
    await this.signal("SIGKILL");
  }

  /** SIGSTOP: etcd keeps its sockets open but answers nothing (a hung server). */
  pause(): void {
    this.child?.kill("SIGSTOP");
  }

  resume(): void {
    this.child?.kill("SIGCONT");
  }

  /** Starts etcd again on the same ports and data directory (stopping it first if running). */
  async restart(): Promise<void> {
    if (this.child) await this.stop();
    await this.launch();
  }

  /** Stops etcd if running and removes its directory. Safe to call more than once. */
  async cleanup(): Promise<void> {
    if (this.child) {
      this.resume();
      await this.signal("SIGKILL");
    }
    this.removeDir();
  }

  /** The last lines etcd logged, for failure messages. */
  logs(): string {
    return this.logTail;
  }

  /** @internal used by the process exit hook */
  killSync(): void {
    this.guard?.kill("SIGKILL");
    this.child?.kill("SIGKILL");
    this.removeDir();
  }

  private removeDir(): void {
    if (this.removed) return;
    this.removed = true;
    live.delete(this);
    rmSync(this.baseDir, { recursive: true, force: true });
  }

  private writeTlsFiles(): void {
    const tls = this.options.tls;
    if (!tls) return;
    mkdirSync(this.tlsDir, { mode: 0o700 });
    const files: Record<string, string | undefined> = {
      "ca.pem": tls.ca,
      "server.pem": tls.serverCert,
      "server-key.pem": tls.serverKey,
      "client.pem": tls.clientCert,
      "client-key.pem": tls.clientKey,
    };
    for (const [name, pem] of Object.entries(files)) if (pem) writeFileSync(join(this.tlsDir, name), pem, { mode: 0o600 });
  }

  private args(): string[] {
    const tls = this.options.tls;
    const scheme = tls ? "https" : "http";
    const name = this.options.name ?? "trellis-test";
    const peer = `http://${this.host}:${this.peerPort}`;
    const args = [
      `--name=${name}`,
      `--data-dir=${this.dataDir}`,
      `--listen-client-urls=${scheme}://${this.host}:${this.clientPort}`,
      `--advertise-client-urls=${this.endpoint}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=${name}=${peer}`,
      "--initial-cluster-state=new",
      "--logger=zap",
      "--log-outputs=stderr",
      "--log-level=warn",
    ];
    if (tls) {
      args.push(
        `--cert-file=${join(this.tlsDir, "server.pem")}`,
        `--key-file=${join(this.tlsDir, "server-key.pem")}`,
        `--trusted-ca-file=${join(this.tlsDir, "ca.pem")}`,
      );
      if (tls.clientCertAuth ?? true) args.push("--client-cert-auth");
    }
    return [...args, ...(this.options.extraArgs ?? [])];
  }

  private async launch(): Promise<void> {
    live.add(this);
    this.removed = false;
    const [command, ...prefixArgs] = [...(this.options.commandPrefix ?? []), "etcd"];
    const child = spawn(command!, [...prefixArgs, ...this.args()], { stdio: ["ignore", "ignore", "pipe"] });
    this.child = child;
    this.logTail = "";
    child.stderr!.on("data", (b: Buffer) => {
      this.logTail = (this.logTail + b.toString("utf8")).slice(-16_384);
    });
    this.exited = new Promise((resolve) => {
      child.once("exit", () => {
        if (this.child === child) this.child = undefined;
        this.guard?.kill("SIGKILL");
        this.guard = undefined;
        resolve();
      });
      child.once("error", (e) => {
        this.logTail += `\ncould not start etcd: ${e.message}`;
        if (this.child === child) this.child = undefined;
        resolve();
      });
    });
    this.startGuard(child);
    try {
      await this.waitReady(child);
    } catch (e) {
      if (this.child === child) await this.signal("SIGKILL");
      throw e;
    }
  }

  /**
   * A shell that waits on a pipe from this process: when this process dies however it dies, the
   * pipe closes and the shell kills etcd and removes its directory, so no test run leaves an etcd
   * behind. It is killed itself whenever etcd exits first (stop, restart).
   */
  private startGuard(child: ChildProcess): void {
    if (child.pid === undefined) return;
    const script = 'read _ ; kill -9 "$0" 2>/dev/null; rm -rf "$1"';
    const guard = spawn("sh", ["-c", script, String(child.pid), this.baseDir], { stdio: ["pipe", "ignore", "ignore"] });
    guard.on("error", () => undefined);
    guard.stdin!.on("error", () => undefined);
    guard.unref();
    (guard.stdin as unknown as { unref?: () => void }).unref?.();
    this.guard = guard;
  }

  private async waitReady(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + (this.options.readyTimeoutMs ?? 20_000);
    let last = "no answer yet";
    while (Date.now() < deadline) {
      if (this.child !== child) throw new Error(`etcd exited while starting: ${this.logTail.trim().slice(-2000)}`);
      try {
        const body = await this.health();
        if (/"health":\s*"true"/.test(body)) return;
        last = body;
      } catch (e) {
        last = (e as Error).message;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`etcd on ${this.endpoint} not ready after ${this.options.readyTimeoutMs ?? 20_000} ms (last probe: ${last}); log: ${this.logTail.trim().slice(-2000)}`);
  }

  private health(): Promise<string> {
    const tls = this.options.tls;
    return new Promise((resolve, reject) => {
      const options = { host: this.host, port: this.clientPort, path: "/health", timeout: 2000 };
      const req = tls
        ? httpsRequest({ ...options, servername: "localhost", ca: tls.ca, cert: tls.clientCert, key: tls.clientKey })
        : httpRequest(options);
      req.on("response", (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve(body));
      });
      req.on("timeout", () => req.destroy(new Error("health probe timed out")));
      req.on("error", reject);
      req.end();
    });
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    if (sig !== "SIGKILL") this.resume();
    child.kill(sig);
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
