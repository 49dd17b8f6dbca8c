/**
 * Test support for service traffic: backend servers and clients as small Node programs run inside
 * network namespaces. A backend answers `GET /` with who it is and who it saw as the client (so a
 * test sees which backend a connection reached and whether its source was masqueraded), streams a
 * line every 50 ms on `GET /stream` (a long-lived connection), and echoes its address over UDP.
 * Every process started here is killed by `stopAll()`, also when a test fails.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { run } from "../../util/exec.js";

export const BACKEND_HTTP_PORT = 8080;
export const BACKEND_UDP_PORT = 5353;

const SERVER = `
const http = require("node:http");
const dgram = require("node:dgram");
const ip = process.env.POD_IP;
const server = http.createServer((req, res) => {
  if (req.url === "/stream") {
    res.writeHead(200, { "content-type": "text/plain" });
    let n = 0;
    const timer = setInterval(() => res.write(ip + " " + n++ + "\\n"), 50);
    req.on("close", () => clearInterval(timer));
    return;
  }
  res.writeHead(200, { "content-type": "application/json", connection: "close" });
  res.end(JSON.stringify({ backend: ip, client: req.socket.remoteAddress }));
});
const udp = dgram.createSocket("udp4");
udp.on("message", (msg, rinfo) => udp.send(ip, rinfo.port, rinfo.address));
let ready = 0;
const up = () => { if (++ready === 2) console.log("ready"); };
server.listen(${BACKEND_HTTP_PORT}, ip, up);
udp.bind(${BACKEND_UDP_PORT}, ip, up);
`;

/** One HTTP request per new connection (agent: false), one after the other. */
const CLIENT = `
const http = require("node:http");
const [host, port, count] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const one = () => new Promise((resolve) => {
  const started = Date.now();
  const req = http.get({ host, port, path: "/", agent: false, timeout: 3000 }, (res) => {
    let body = "";
    res.on("data", (c) => (body += c));
    res.on("end", () => resolve(JSON.parse(body)));
  });
  req.on("timeout", () => req.destroy(Object.assign(new Error("timeout"), { code: "ETIMEDOUT" })));
  req.on("error", (e) => resolve({ error: e.code || e.message, ms: Date.now() - started }));
});
(async () => {
  const results = [];
  for (let i = 0; i < count; i++) results.push(await one());
  console.log(JSON.stringify(results));
})();
`;

const UDP_CLIENT = `
const dgram = require("node:dgram");
const [host, port] = [process.argv[1], Number(process.argv[2])];
const s = dgram.createSocket("udp4");
const done = (r) => { console.log(JSON.stringify(r)); s.close(); };
const timer = setTimeout(() => done({ error: "ETIMEDOUT" }), 3000);
s.on("message", (m) => { clearTimeout(timer); done({ backend: m.toString() }); });
s.on("error", (e) => { clearTimeout(timer); done({ error: e.code || e.message }); });
s.connect(port, host, () => s.send("hello"));
`;

export interface HttpResult {
  readonly backend?: string;
  readonly client?: string;
  readonly error?: string;
  readonly ms?: number;
}

/** A long-lived connection: the lines a backend streams, as they arrive. */
export class Stream {
  readonly lines: string[] = [];
  private closed = false;
  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on("line", (l) => this.lines.push(l));
    child.on("close", () => (this.closed = true));
  }
  get ended(): boolean {
    return this.closed;
  }
  /** The backend that answered (the address every line starts with). */
  get backend(): string | undefined {
    return this.lines[0]?.split(" ")[0];
  }
}

export class ServiceTraffic {
  private readonly children = new Set<ChildProcess>();

  private spawnIn(netns: string, args: readonly string[], env: Record<string, string> = {}): ChildProcess {
    const child = spawn("ip", ["netns", "exec", netns, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
    this.children.add(child);
    child.once("close", () => this.children.delete(child));
    return child;
  }

  /** Starts a backend on `ip` (HTTP on 8080, UDP on 5353) and waits until it listens. */
  async startBackend(netns: string, ip: string): Promise<void> {
    const child = this.spawnIn(netns, [process.execPath, "-e", SERVER], { POD_IP: ip });
    let stderr = "";
    child.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
    await new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout! });
      lines.on("line", (l) => l === "ready" && resolve());
      child.once("close", (code) => reject(new Error(`backend ${ip} in ${netns} exited with ${code}: ${stderr}`)));
    });
  }

  /** `count` requests to host:port from inside `netns`, each on a new connection. */
  async requests(netns: string, host: string, port: number, count: number): Promise<HttpResult[]> {
    const r = await run("ip", ["netns", "exec", netns, process.execPath, "-e", CLIENT, host, String(port), String(count)], { timeoutMs: 60_000 });
    return JSON.parse(r.stdout) as HttpResult[];
  }

  async udpRequest(netns: string, host: string, port: number): Promise<HttpResult> {
    const r = await run("ip", ["netns", "exec", netns, process.execPath, "-e", UDP_CLIENT, host, String(port)], { timeoutMs: 10_000 });
    return JSON.parse(r.stdout) as HttpResult;
  }

  /** Opens a streaming connection to host:port (curl, unbuffered). */
  stream(netns: string, host: string, port: number): Stream {
    return new Stream(this.spawnIn(netns, ["curl", "-sN", "--max-time", "120", `http://${host}:${port}/stream`]));
  }

  stop(child: ChildProcess): void {
    child.kill("SIGKILL");
  }

  /** Kills every process started here; a deleted namespace would not stop them. */
  async stopAll(): Promise<void> {
    const closing = [...this.children].map((c) => new Promise<void>((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve() : c.once("close", () => resolve()))));
    for (const c of this.children) c.kill("SIGKILL");
    await Promise.all(closing);
  }
}

/** How many results came from each backend (errors under "error:<code>"). */
export function tally(results: readonly HttpResult[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of results) {
    const key = r.backend ?? `error:${r.error}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}
