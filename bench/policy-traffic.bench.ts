/**
 * Pod-to-pod request rate with and without network policy, on real namespaces: one node with two
 * pods wired as the CNI plugin does, programmed by LinuxDatapath. A client in pod A opens a new TCP
 * connection per request to a server in pod C (connect, read the answer, close) as fast as it can
 * for a fixed time. Policy is checked on each new connection (established ones pass on conntrack),
 * so new connections are its worst case; a second client keeps one connection open and sends
 * small requests over it, the case of a long-lived connection.
 *
 * Rounds alternate without and with policy so that the machine's load, which varies on this shared
 * box, weighs on both alike; the verdict is the ratio of medians.
 */
import { spawn } from "node:child_process";
import { loadavg } from "node:os";
import { LinuxDatapath } from "../src/datapath/linux/linux-datapath.js";
import { NetnsFixture } from "../src/datapath/linux/netns-fixture.js";
import { TestTopology, type TestPod } from "../src/datapath/linux/test-topology.js";
import type { NodePolicyState } from "../src/datapath/types.js";
import { subsystemLogger } from "../src/log/logger.js";
import { run as runCommand } from "../src/util/exec.js";
import { formatIpv4 } from "../src/util/ipv4.js";
import { fmt, percentile, type BenchOptions, type BenchSection } from "./section.js";

const [A, C] = [65537, 65539];
const PORT = 80;

/** Answers every line with a line; a connection may carry one request or many. */
const SERVER = `
const net = require("node:net");
net.createServer((s) => { s.on("data", (d) => s.write(d)); s.on("error", () => {}); }).listen(${PORT}, process.argv[1], () => console.log("ready"));
`;

/** argv: host, mode (new|keep), seconds. Prints the number of completed requests. */
const CLIENT = `
const net = require("node:net");
const [host, mode, seconds] = [process.argv[1], process.argv[2], Number(process.argv[3])];
const end = Date.now() + seconds * 1000;
let done = 0;
function fresh() {
  if (Date.now() > end) { console.log(done); process.exit(0); }
  const s = net.connect({ host, port: ${PORT} }, () => s.write("x\\n"));
  s.once("data", () => { done++; s.destroy(); setImmediate(fresh); });
  s.on("error", (e) => { console.error(e.message); process.exit(1); });
}
function kept() {
  const s = net.connect({ host, port: ${PORT} }, () => s.write("x\\n"));
  s.on("data", () => { done++; if (Date.now() > end) { console.log(done); process.exit(0); } s.write("x\\n"); });
  s.on("error", (e) => { console.error(e.message); process.exit(1); });
}
mode === "new" ? fresh() : kept();
`;

function inNetns(netns: string, script: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("ip", ["netns", "exec", netns, process.execPath, "-e", script, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr.on("data", (b: Buffer) => (err += b.toString()));
    child.on("close", (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`client in ${netns} exited ${code}: ${err}`))));
  });
}

async function rate(client: TestPod, server: TestPod, mode: "new" | "keep", seconds: number): Promise<number> {
  const count = Number(await inNetns(client.netns, CLIENT, [server.ip, mode, String(seconds)]));
  if (!(count > 0)) throw new Error(`policy traffic bench: no request completed (${mode})`);
  return count / seconds;
}

/** Both pods under policy: A may send to C on TCP 80, C accepts A on TCP 80; plus a large ipcache. */
function withPolicy(a: TestPod, c: TestPod, extraEntries: number): NodePolicyState {
  const ipcache = new Map<string, number>(Array.from({ length: extraEntries }, (_, i) => [formatIpv4(0x64400000 + i), 65536 + (i % 1000)]));
  ipcache.set(a.ip, A);
  ipcache.set(c.ip, C);
  return {
    ipcache,
    endpoints: [
      { hostIfName: a.endpoint.hostIfName, ip: a.ip, ingress: { enforced: false, allow: new Set(), deny: new Set() }, egress: { enforced: true, allow: new Set([`${C}/6/${PORT}`]), deny: new Set() } },
      { hostIfName: c.endpoint.hostIfName, ip: c.ip, ingress: { enforced: true, allow: new Set([`${A}/6/${PORT}`]), deny: new Set() }, egress: { enforced: false, allow: new Set(), deny: new Set() } },
    ],
  };
}

export async function run(options: BenchOptions): Promise<BenchSection> {
  if (process.getuid?.() !== 0) throw new Error("the policy traffic bench creates network namespaces and needs root");
  const nft = await runCommand("nft", ["--version"], { allowFailure: true }).catch(() => undefined);
  if (!nft || nft.code !== 0) throw new Error("the policy traffic bench needs nft (Debian package nftables): run scripts/setup.sh");
  const seconds = Math.max(1, Math.round(2 * options.scale));
  const rounds = 6;
  const extraEntries = Math.round(100_000 * options.scale);
  const silent = subsystemLogger("policy-traffic-bench");
  silent.level = "silent";

  const fixture = await NetnsFixture.create("trtest-polrate-");
  const server: { kill(): void }[] = [];
  try {
    const topo = await TestTopology.create(fixture, 1);
    const node = topo.nodes[0]!;
    const a = await topo.addPod(node, 10, "native");
    const c = await topo.addPod(node, 12, "native");
    // Thousands of short connections a second from one address would run out of ephemeral ports
    // to TIME_WAIT and measure that instead: let the client reuse them, as a busy client would.
    await fixture.exec(a.netns, "sysctl", ["-q", "-w", "net.ipv4.tcp_tw_reuse=1", "net.ipv4.ip_local_port_range=10000 65000"]);
    const dp = new LinuxDatapath({ netns: node.netns, logger: silent });
    const r = await dp.reconcile(topo.desired(node, "native"));
    if (r.problems.length) throw new Error(`policy traffic bench: node setup: ${r.problems.map((p) => p.message).join("; ")}`);
    await new Promise<void>((resolve, reject) => {
      const child = spawn("ip", ["netns", "exec", c.netns, process.execPath, "-e", SERVER, c.ip], { stdio: ["ignore", "pipe", "inherit"] });
      server.push(child);
      child.stdout.once("data", () => resolve());
      child.once("close", (code) => reject(new Error(`server exited ${code}`)));
    });
    const policy = withPolicy(a, c, extraEntries);
    const open: NodePolicyState = { ipcache: policy.ipcache, endpoints: [] };

    const loadBefore = loadavg()[0]!;
    const samples = { new: { off: [] as number[], on: [] as number[] }, keep: { off: [] as number[], on: [] as number[] } };
    for (let round = 0; round < rounds; round++) {
      for (const enforced of round % 2 === 0 ? [false, true] : [true, false]) {
        const report = await dp.reconcilePolicy(enforced ? policy : open);
        if (report.problems.length) throw new Error(`policy traffic bench: ${report.problems.map((p) => p.message).join("; ")}`);
        for (const mode of ["new", "keep"] as const) samples[mode][enforced ? "on" : "off"].push(await rate(a, c, mode, seconds));
      }
    }
    const loadAfter = loadavg()[0]!;
    await dp.teardown();
    const median = (xs: number[]) => percentile([...xs].sort((x, y) => x - y), 50);
    const row = (label: string, s: { off: number[]; on: number[] }) =>
      `| ${label} | ${fmt(median(s.off), 0)} | ${fmt(median(s.on), 0)} | ×${fmt(median(s.on) / median(s.off))} |`;
    const markdown = [
      `One node namespace with two pods (veth, as the CNI plugin wires them); a Node client in pod A, a Node server in pod C.`,
      `With policy: A's egress enforced (allow C on TCP 80) and C's ingress enforced (allow A on TCP 80), with`,
      `${extraEntries.toLocaleString("en")} further ipcache entries present. ${rounds} rounds of ${seconds} s per case, alternating off/on; medians.`,
      `Load average (1 min) ${fmt(loadBefore)} at the start and ${fmt(loadAfter)} at the end.`,
      "",
      "| requests | without policy (req/s) | with policy (req/s) | ratio |",
      "| --- | ---: | ---: | ---: |",
      row("a new TCP connection per request", samples.new),
      row("one kept connection, request after request", samples.keep),
      "",
      "Without policy the table is still there (as on every node: the ipcache map and the forward chain), with",
      "no endpoint in it. Policy is looked up once per new connection (the ipcache map, then the endpoint's sets);",
      "replies and later packets of an allowed connection pass on conntrack. The client and server are Node",
      "processes on a 2-core machine, so the rates are bounded by them, not by the kernel: read the ratio, and",
      "know that repeated runs on this machine spread by about ±15% (earlier runs: ×0.86 and ×0.98 for new",
      "connections, ×0.86 and ×1.04 for a kept one).",
    ].join("\n");
    return { title: "Network policy: pod-to-pod request rate with and without policy", markdown };
  } finally {
    for (const s of server) s.kill();
    await fixture.cleanup();
  }
}
