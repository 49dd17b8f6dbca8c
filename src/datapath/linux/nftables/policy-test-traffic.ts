/**
 * Test support for policy traffic: a TCP server on several ports and single-connection clients,
 * as small Node programs inside network namespaces. The server answers each connection with the
 * client address it saw and closes, so a test sees both whether a connection got through and
 * whether its source was masqueraded. Every server started here is stopped by `stopAll()`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { run } from "../../../util/exec.js";

const SERVER = `
const net = require("node:net");
const [ip, ...ports] = process.argv.slice(1);
let ready = 0;
for (const port of ports) {
  net.createServer((s) => s.end(s.remoteAddress + "\\n")).listen(Number(port), ip, () => {
    if (++ready === ports.length) console.log("ready");
  });
}
`;

/** One connection; prints {client} with what the server saw, or {error} (ETIMEDOUT when dropped). */
const CLIENT = `
const net = require("node:net");
const [host, port, timeout] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const done = (r) => { console.log(JSON.stringify(r)); process.exit(0); };
const s = net.connect({ host, port });
s.setTimeout(timeout, () => { s.destroy(); done({ error: "ETIMEDOUT" }); });
let data = "";
s.on("data", (d) => (data += d));
s.on("end", () => done({ client: data.trim() }));
s.on("error", (e) => done({ error: e.code || e.message }));
`;

export interface ConnectResult {
  readonly client?: string;
  readonly error?: string;
}

export class PolicyTraffic {
  private readonly children = new Set<ChildProcess>();

  /** Starts a server on `ip`, one listener per port, and waits until all listen. */
  async startServer(netns: string, ip: string, ports: readonly number[]): Promise<void> {
    const child = spawn("ip", ["netns", "exec", netns, process.execPath, "-e", SERVER, ip, ...ports.map(String)], { stdio: ["ignore", "pipe", "pipe"] });
    this.children.add(child);
    child.once("close", () => this.children.delete(child));
    let stderr = "";
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout }).on("line", (l) => l === "ready" && resolve());
      child.once("close", (code) => reject(new Error(`server ${ip} in ${netns} exited with ${code}: ${stderr}`)));
    });
  }

  /** One TCP connection from inside `netns`; a dropped SYN shows as ETIMEDOUT after `timeoutMs`. */
  async connect(netns: string, host: string, port: number, timeoutMs = 1000): Promise<ConnectResult> {
    const r = await run("ip", ["netns", "exec", netns, process.execPath, "-e", CLIENT, host, String(port), String(timeoutMs)], { timeoutMs: timeoutMs + 20_000 });
    return JSON.parse(r.stdout) as ConnectResult;
  }

  async stopAll(): Promise<void> {
    const closing = [...this.children].map((c) => new Promise<void>((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve() : c.once("close", () => resolve()))));
    for (const c of this.children) c.kill("SIGKILL");
    await Promise.all(closing);
  }
}
