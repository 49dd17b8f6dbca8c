/**
 * Drives trellis-cni the way a container runtime does: one process per command, CNI_* variables in
 * the environment, the network configuration on stdin, the result (or error) read from stdout and
 * the exit code. Behind it runs a small fake of the agent's local API (docs/agent-api.md) that
 * hands out addresses with the real IPAM allocator and records endpoint registrations.
 *
 * Everything happens in network namespaces this test creates: a "node" namespace that plays the
 * host (the plugin runs inside it via `ip netns exec`, as it would on a lab node), and one namespace
 * per pod. All carry the prefix trtest-cni-<pid>; leftovers of a crashed run are removed first.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { IpAllocator } from "../ipam/allocator.js";
import { hostVethName } from "./netns-veth.js";
import { FakeAgent } from "./testing/fake-agent.js";

const PREFIX = `trtest-cni-${process.pid}`;
const NODE_NS = `${PREFIX}-node`;
const POD_CIDR = "100.127.250.0/24";
const ROUTER_IP = "100.127.250.1";
const MTU = 1450;

// ---------------------------------------------------------------------------------------------
// Commands and namespaces

function sh(cmd: string, args: string[], options: { allowFailure?: boolean } = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  const code = r.status ?? 1;
  if (code !== 0 && !options.allowFailure) throw new Error(`${cmd} ${args.join(" ")} failed (${code}): ${r.stderr}`);
  return { code, stdout: r.stdout, stderr: r.stderr };
}

function ipJson<T>(args: string[]): T {
  const out = sh("ip", ["-j", ...args]).stdout.trim();
  return (out ? JSON.parse(out) : []) as T;
}

interface Link {
  ifname: string;
  mtu: number;
  address: string;
  flags: string[];
  ifalias?: string;
  linkinfo?: { info_kind: string };
  addr_info: { family: string; local: string; prefixlen: number }[];
}

/** A link in a named namespace, or undefined. */
function link(ns: string, name: string): Link | undefined {
  const r = sh("ip", ["-n", ns, "-j", "-d", "addr", "show", "dev", name], { allowFailure: true });
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout) as Link[])[0];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const podNamespaces: string[] = [];
function newPodNetns(suffix: string): string {
  const name = `${PREFIX}-${suffix}`;
  sh("ip", ["netns", "add", name]);
  podNamespaces.push(name);
  return name;
}

function netnsPath(name: string): string {
  return `/run/netns/${name}`;
}

async function eventually(what: string, condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

// ---------------------------------------------------------------------------------------------
// Running the plugin as a runtime does

const here = fileURLToPath(import.meta.url);
const fromSource = here.endsWith(".ts");
const repo = resolve(dirname(here), fromSource ? "../.." : "../../..");
const mainModule = join(dirname(here), fromSource ? "main.ts" : "main.js");

interface Invocation {
  command?: string;
  containerId?: string;
  netns?: string;
  ifName?: string;
  args?: string;
  /** Merged over the default configuration, or raw stdin when a string. */
  config?: Record<string, unknown> | string;
  /** Variables to leave out entirely. */
  unset?: string[];
}

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
  json: Record<string, unknown> | undefined;
}

let agent: FakeAgent;
let workDir: string;
const running = new Set<ChildProcess>();

function baseConfig(): Record<string, unknown> {
  return { cniVersion: "1.0.0", name: "trellis", type: "trellis-cni", agentSocket: agent.socket, agentTimeoutSeconds: 2 };
}

function cni(inv: Invocation): Promise<Outcome> {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("CNI_")));
  Object.assign(env, {
    TRELLIS_LOG_LEVEL: "warn",
    CNI_COMMAND: inv.command ?? "ADD",
    CNI_CONTAINERID: inv.containerId ?? "",
    CNI_NETNS: inv.netns ?? "",
    CNI_IFNAME: inv.ifName ?? "eth0",
    CNI_ARGS: inv.args ?? "",
    CNI_PATH: "/opt/cni/bin",
  });
  for (const k of inv.unset ?? []) delete env[k];
  const stdin = typeof inv.config === "string" ? inv.config : JSON.stringify({ ...baseConfig(), ...inv.config });
  const node = [process.execPath, ...(fromSource ? ["--import", "tsx"] : []), mainModule];
  return new Promise((res, rej) => {
    const child = spawn("ip", ["netns", "exec", NODE_NS, ...node], { cwd: repo, env, stdio: ["pipe", "pipe", "pipe"] });
    running.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.on("error", rej);
    child.on("close", (code) => {
      running.delete(child);
      let json: Record<string, unknown> | undefined;
      if (stdout.trim()) json = JSON.parse(stdout) as Record<string, unknown>;
      res({ code, stdout, stderr, json });
    });
    child.stdin.end(stdin);
  });
}

function assertError(out: Outcome, code: number, pattern: RegExp): void {
  assert.notEqual(out.code, 0, "an error must exit non-zero");
  assert.ok(out.json, `an error must print the error object on stdout; stderr: ${out.stderr}`);
  assert.equal(out.json.code, code, `expected code ${code}, got ${JSON.stringify(out.json)}`);
  assert.equal(typeof out.json.cniVersion, "string");
  assert.match(String(out.json.msg), pattern);
}

async function add(suffix: string, extra: Partial<Invocation> = {}): Promise<{ ns: string; containerId: string; out: Outcome }> {
  const ns = newPodNetns(suffix);
  const containerId = `${PREFIX}-${suffix}`;
  const out = await cni({ command: "ADD", containerId, netns: netnsPath(ns), args: "K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-" + suffix, ...extra });
  return { ns, containerId, out };
}

// ---------------------------------------------------------------------------------------------

before(async () => {
  // Leftovers of a run that crashed: namespaces of a test process that no longer exists.
  for (const line of sh("ip", ["netns", "list"]).stdout.split("\n")) {
    const name = line.split(" ")[0] ?? "";
    const m = /^trtest-cni-(\d+)-/.exec(name);
    if (m && !alive(Number(m[1]))) sh("ip", ["netns", "del", name], { allowFailure: true });
  }
  sh("ip", ["netns", "add", NODE_NS]);
  sh("ip", ["-n", NODE_NS, "link", "set", "lo", "up"]);
  workDir = await mkdtemp(join(tmpdir(), "trellis-cni-test-"));
  const ipam = await IpAllocator.open({ cidr: POD_CIDR, stateFile: join(workDir, "ipam.json") });
  agent = new FakeAgent(join(workDir, "agent.sock"), ipam, MTU);
  await agent.start();
});

after(async () => {
  for (const child of running) child.kill("SIGKILL");
  await agent?.stop();
  for (const ns of [...podNamespaces, NODE_NS]) sh("ip", ["netns", "del", ns], { allowFailure: true });
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe("trellis-cni", () => {
  test("VERSION lists the supported spec versions", async () => {
    const out = await cni({ command: "VERSION", config: '{"cniVersion":"1.0.0"}' });
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(out.json, { cniVersion: "1.0.0", supportedVersions: ["0.4.0", "1.0.0", "1.1.0"] });
  });

  test("ADD wires the pod per the addressing contract and prints the spec's result", async () => {
    const { ns, containerId, out } = await add("wired");
    assert.equal(out.code, 0, `${out.stdout}\n${out.stderr}`);
    const result = out.json as {
      cniVersion: string;
      interfaces: { name: string; mac: string; sandbox?: string; mtu?: number }[];
      ips: { address: string; gateway: string; interface: number }[];
      routes: { dst: string; gw: string }[];
      dns: object;
    };
    const hostIf = hostVethName(containerId);
    const ip = (await agent.ipam.get(`${containerId}/eth0`))?.ip;
    assert.ok(ip, "the agent's IPAM holds an address for <containerID>/<ifName>");

    // The result, as the runtime reads it.
    assert.equal(result.cniVersion, "1.0.0");
    assert.equal(result.interfaces.length, 2);
    assert.equal(result.interfaces[0]?.name, hostIf);
    assert.equal(result.interfaces[0]?.sandbox, undefined);
    assert.equal(result.interfaces[1]?.name, "eth0");
    assert.equal(result.interfaces[1]?.sandbox, netnsPath(ns));
    assert.equal(result.interfaces[1]?.mtu, undefined, "interface mtu is a 1.1.0 field");
    assert.deepEqual(result.ips, [{ address: `${ip}/32`, gateway: ROUTER_IP, interface: 1 }]);
    assert.deepEqual(result.routes, [{ dst: "0.0.0.0/0", gw: ROUTER_IP }]);
    assert.deepEqual(result.dns, {});

    // The pod's side.
    const eth0 = link(ns, "eth0");
    assert.ok(eth0, "eth0 exists in the pod's namespace");
    assert.equal(eth0.linkinfo?.info_kind, "veth");
    assert.ok(eth0.flags.includes("UP"));
    assert.equal(eth0.mtu, MTU);
    assert.equal(eth0.address, result.interfaces[1]?.mac);
    assert.deepEqual(eth0.addr_info.filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`), [`${ip}/32`]);
    assert.ok(link(ns, "lo")?.flags.includes("UP"), "lo is up in the pod");
    const routes = ipJson<{ dst: string; gateway?: string; dev: string; scope?: string }[]>(["-n", ns, "-4", "route", "show"]);
    assert.ok(routes.some((r) => r.dst === "default" && r.gateway === ROUTER_IP && r.dev === "eth0"), JSON.stringify(routes));
    assert.ok(routes.some((r) => r.dst === ROUTER_IP && r.dev === "eth0" && r.scope === "link"), JSON.stringify(routes));

    // The host's side.
    const host = link(NODE_NS, hostIf);
    assert.ok(host, `host veth ${hostIf} exists on the node`);
    assert.ok(host.flags.includes("UP"));
    assert.equal(host.mtu, MTU);
    assert.equal(host.address, result.interfaces[0]?.mac);
    assert.deepEqual(host.addr_info.filter((a) => a.family === "inet"), [], "the host veth has no IPv4 address");
    assert.equal(host.ifalias, `trellis:${containerId}/eth0`);

    // The endpoint registered with the agent.
    assert.deepEqual(agent.endpoints.get(containerId), {
      containerId,
      ifName: "eth0",
      netns: netnsPath(ns),
      hostIfName: hostIf,
      ip,
      podName: "web-wired",
      podNamespace: "shop",
    });

    // With what the datapath adds (router IP on the node, host route to the pod), the pod answers.
    sh("ip", ["-n", NODE_NS, "addr", "add", `${ROUTER_IP}/32`, "dev", "lo"]);
    sh("ip", ["-n", NODE_NS, "route", "add", `${ip}/32`, "dev", hostIf]);
    const ping = sh("ip", ["netns", "exec", NODE_NS, "ping", "-c", "1", "-W", "2", "-I", ROUTER_IP, ip], { allowFailure: true });
    sh("ip", ["-n", NODE_NS, "addr", "del", `${ROUTER_IP}/32`, "dev", "lo"]);
    assert.equal(ping.code, 0, `node -> pod ping failed: ${ping.stdout}${ping.stderr}`);
  });

  test("a second container gets a different IP and its own host veth", async () => {
    const a = await add("two-a");
    const b = await add("two-b");
    assert.equal(a.out.code, 0, a.out.stdout);
    assert.equal(b.out.code, 0, b.out.stdout);
    const ipA = (a.out.json as { ips: { address: string }[] }).ips[0]?.address;
    const ipB = (b.out.json as { ips: { address: string }[] }).ips[0]?.address;
    assert.ok(ipA && ipB);
    assert.notEqual(ipA, ipB);
    assert.notEqual(hostVethName(a.containerId), hostVethName(b.containerId));
    assert.ok(link(NODE_NS, hostVethName(a.containerId)) && link(NODE_NS, hostVethName(b.containerId)));
  });

  test("concurrent ADDs for different containers (which the spec allows) get distinct IPs", async () => {
    const results = await Promise.all(["par-1", "par-2", "par-3"].map((suffix) => add(suffix)));
    for (const r of results) assert.equal(r.out.code, 0, r.out.stdout + r.out.stderr);
    const ips = results.map((r) => (r.out.json as { ips: { address: string }[] }).ips[0]?.address);
    assert.equal(new Set(ips).size, 3, JSON.stringify(ips));
  });

  test("CHECK passes after ADD and fails once the pod's address is removed", async () => {
    const { ns, containerId, out } = await add("check");
    assert.equal(out.code, 0, out.stdout);
    const prevResult = out.json;
    const ok = await cni({ command: "CHECK", containerId, netns: netnsPath(ns), config: { prevResult } });
    assert.equal(ok.code, 0, ok.stdout);
    assert.equal(ok.stdout, "", "a passing CHECK prints nothing");

    const address = (prevResult as { ips: { address: string }[] }).ips[0]?.address ?? "";
    sh("ip", ["-n", ns, "addr", "del", address, "dev", "eth0"]);
    const bad = await cni({ command: "CHECK", containerId, netns: netnsPath(ns), config: { prevResult } });
    assertError(bad, 104, new RegExp(`address ${address.replace(/\./g, "\\.")} is missing from eth0`));

    const noPrev = await cni({ command: "CHECK", containerId, netns: netnsPath(ns) });
    assertError(noPrev, 7, /prevResult/);
  });

  test("DEL removes veth, endpoint and IP, and a second DEL is fine", async () => {
    const { ns, containerId, out } = await add("del");
    assert.equal(out.code, 0, out.stdout);
    const owner = `${containerId}/eth0`;
    assert.ok(await agent.ipam.get(owner));
    for (let round = 1; round <= 2; round++) {
      const del = await cni({ command: "DEL", containerId, netns: netnsPath(ns), config: { prevResult: out.json } });
      assert.equal(del.code, 0, `DEL #${round}: ${del.stdout}${del.stderr}`);
      assert.equal(del.stdout, "");
    }
    assert.equal(link(NODE_NS, hostVethName(containerId)), undefined, "host veth removed");
    assert.equal(link(ns, "eth0"), undefined, "pod interface removed");
    assert.equal(agent.endpoints.has(containerId), false, "endpoint unregistered");
    assert.equal(await agent.ipam.get(owner), undefined, "IP released");
  });

  test("DEL after the pod's netns is gone still cleans up and succeeds", async () => {
    const { ns, containerId, out } = await add("gone");
    assert.equal(out.code, 0, out.stdout);
    sh("ip", ["netns", "del", ns]);
    const del = await cni({ command: "DEL", containerId, netns: netnsPath(ns), config: { prevResult: out.json } });
    assert.equal(del.code, 0, del.stdout);
    const withoutNetns = await cni({ command: "DEL", containerId, unset: ["CNI_NETNS"] });
    assert.equal(withoutNetns.code, 0, withoutNetns.stdout);
    await eventually("the host veth is gone", () => link(NODE_NS, hostVethName(containerId)) === undefined);
    assert.equal(agent.endpoints.has(containerId), false);
    assert.equal(await agent.ipam.get(`${containerId}/eth0`), undefined);
  });

  test("a netns given as /proc/<pid>/ns/net works for ADD and DEL", async () => {
    const holder = spawn("unshare", ["--net", "sleep", "120"], { stdio: "ignore" });
    running.add(holder);
    try {
      const nsPath = `/proc/${holder.pid}/ns/net`;
      await eventually("the namespace holder has its own netns", () => {
        const r = sh("readlink", [nsPath], { allowFailure: true }).stdout.trim();
        return r !== "" && r !== sh("readlink", ["/proc/self/ns/net"]).stdout.trim();
      });
      const containerId = `${PREFIX}-proc`;
      const out = await cni({ command: "ADD", containerId, netns: nsPath });
      assert.equal(out.code, 0, out.stdout + out.stderr);
      const addr = sh("nsenter", [`--net=${nsPath}`, "ip", "-j", "-4", "addr", "show", "dev", "eth0"]).stdout;
      assert.match(addr, new RegExp((out.json as { ips: { address: string }[] }).ips[0]?.address.split("/")[0]?.replace(/\./g, "\\.") ?? "x"));
      const del = await cni({ command: "DEL", containerId, netns: nsPath });
      assert.equal(del.code, 0, del.stdout);
      assert.equal(link(NODE_NS, hostVethName(containerId)), undefined);
    } finally {
      holder.kill("SIGKILL");
    }
  });

  test("bad configuration and missing variables are reported with the spec's codes", async () => {
    const ns = newPodNetns("bad");
    const env = { command: "ADD", containerId: `${PREFIX}-bad`, netns: netnsPath(ns) };
    assertError(await cni({ ...env, config: "{not json" }), 6, /not valid JSON/);
    assertError(await cni({ ...env, config: { cniVersion: "0.2.0" } }), 1, /incompatible CNI version "0\.2\.0"/);
    assertError(await cni({ ...env, config: { agentSocket: "agent.sock" } }), 7, /"agentSocket" is "agent\.sock"/);
    assertError(await cni({ ...env, config: { name: undefined } }), 7, /"name" is undefined/);
    assertError(await cni({ ...env, unset: ["CNI_NETNS"] }), 4, /CNI_NETNS/);
    assertError(await cni({ ...env, unset: ["CNI_COMMAND"] }), 4, /CNI_COMMAND/);
    assertError(await cni({ ...env, containerId: "" }), 4, /CNI_CONTAINERID/);
    assertError(await cni({ ...env, netns: "/run/netns/trtest-cni-no-such-ns" }), 101, /does not exist/);
    assert.equal(link(ns, "eth0"), undefined);
    assert.equal(await agent.ipam.get(`${PREFIX}-bad/eth0`), undefined);
  });

  test("ADD refuses an existing CNI_IFNAME and holds no IP for it", async () => {
    const ns = newPodNetns("exists");
    sh("ip", ["-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "other"]);
    const containerId = `${PREFIX}-exists`;
    const out = await cni({ command: "ADD", containerId, netns: netnsPath(ns) });
    assertError(out, 102, /eth0 already exists/);
    assert.ok(link(ns, "eth0"), "the existing interface is left alone");
    assert.equal(await agent.ipam.get(`${containerId}/eth0`), undefined);
    assert.equal(link(NODE_NS, hostVethName(containerId)), undefined);
    // The runtime follows a failed ADD with DEL; that must not take the interface that was there first.
    const del = await cni({ command: "DEL", containerId, netns: netnsPath(ns) });
    assert.equal(del.code, 0, del.stdout);
    assert.ok(link(ns, "eth0"), "DEL after the refused ADD leaves the foreign eth0 alone");
  });

  test("ADD after another plugin carries that plugin's result forward", async () => {
    const prevResult = {
      cniVersion: "1.0.0",
      interfaces: [{ name: "bond0", mac: "02:00:00:00:00:01" }],
      ips: [{ address: "198.18.99.5/24", interface: 0 }],
      routes: [{ dst: "198.18.99.0/24" }],
      dns: { nameservers: ["198.19.1.10"] },
    };
    const { out } = await add("chained", { config: { prevResult } });
    assert.equal(out.code, 0, out.stdout);
    const r = out.json as typeof prevResult & { ips: { address: string; interface: number; gateway?: string }[] };
    assert.deepEqual(r.interfaces.map((i) => i.name).slice(0, 1), ["bond0"]);
    assert.equal(r.interfaces.length, 3);
    assert.deepEqual(r.ips[0], prevResult.ips[0]);
    assert.equal(r.ips[1]?.interface, 2, "our IP points at our pod interface after the ones carried over");
    assert.deepEqual(r.routes, [{ dst: "198.18.99.0/24" }, { dst: "0.0.0.0/0", gw: ROUTER_IP }]);
    assert.deepEqual(r.dns, { nameservers: ["198.19.1.10"] });
  });

  test("agent unreachable: code 11 and nothing left behind", async () => {
    const ns = newPodNetns("down");
    const containerId = `${PREFIX}-down`;
    const missing = join(workDir, "no-agent.sock");
    const out = await cni({ command: "ADD", containerId, netns: netnsPath(ns), config: { agentSocket: missing } });
    assertError(out, 11, new RegExp(missing.replace(/[.]/g, "\\.")));
    assert.equal(link(ns, "eth0"), undefined);
    assert.equal(link(NODE_NS, hostVethName(containerId)), undefined);
  });

  test("agent stops answering mid-ADD: code 11, veth removed and IP released", async () => {
    agent.putBehaviour = "hang";
    try {
      const { ns, containerId, out } = await add("hang", { config: { agentTimeoutSeconds: 0.5 } });
      assertError(out, 11, /registering the endpoint.*no answer/);
      assert.equal(link(ns, "eth0"), undefined);
      assert.equal(link(NODE_NS, hostVethName(containerId)), undefined);
      assert.equal(await agent.ipam.get(`${containerId}/eth0`), undefined, "the IP was released");
      assert.equal(agent.endpoints.has(containerId), false);
    } finally {
      agent.putBehaviour = "register";
    }
  });

  test("agent refuses the endpoint: plugin error with the agent's reason, nothing left behind", async () => {
    agent.putBehaviour = "fail";
    try {
      const { ns, containerId, out } = await add("refused");
      assertError(out, 103, /identity allocation failed/);
      assert.equal(link(ns, "eth0"), undefined);
      assert.equal(link(NODE_NS, hostVethName(containerId)), undefined);
      assert.equal(await agent.ipam.get(`${containerId}/eth0`), undefined);
    } finally {
      agent.putBehaviour = "register";
    }
  });

  test("DEL with the agent down is retryable (code 11) after cleaning the node", async () => {
    const { ns, containerId, out } = await add("del-down");
    assert.equal(out.code, 0, out.stdout);
    const del = await cni({ command: "DEL", containerId, netns: netnsPath(ns), config: { agentSocket: join(workDir, "no-agent.sock") } });
    assertError(del, 11, /not reachable/);
    assert.equal(link(NODE_NS, hostVethName(containerId)), undefined, "local cleanup happens even when the agent is down");
    assert.ok(await agent.ipam.get(`${containerId}/eth0`), "the IP stays held until a DEL reaches the agent");
    const retry = await cni({ command: "DEL", containerId, netns: netnsPath(ns) });
    assert.equal(retry.code, 0, retry.stdout);
    assert.equal(await agent.ipam.get(`${containerId}/eth0`), undefined);
  });

  test("STATUS (spec 1.1) is ready with an agent and code 50 without one", async () => {
    const up = await cni({ command: "STATUS", config: { cniVersion: "1.1.0" } });
    assert.equal(up.code, 0, up.stdout);
    assert.equal(up.stdout, "");
    const down = await cni({ command: "STATUS", config: { cniVersion: "1.1.0", agentSocket: join(workDir, "no-agent.sock") } });
    assertError(down, 50, /cannot serve ADD/);
  });

  test("GC (spec 1.1) removes attachments the runtime no longer lists, and keeps the rest", async () => {
    const keep = await add("gc-keep", { config: { cniVersion: "1.1.0" } });
    const drop = await add("gc-drop", { config: { cniVersion: "1.1.0" } });
    assert.equal(keep.out.code, 0, keep.out.stdout);
    assert.equal(drop.out.code, 0, drop.out.stdout);
    assert.equal((keep.out.json as { interfaces: { mtu?: number }[] }).interfaces[1]?.mtu, MTU, "1.1.0 results carry the MTU");
    // Every other attachment this test file made is still valid too: GC must only take gc-drop.
    const valid = [...agent.endpoints.keys()].filter((c) => c !== drop.containerId).map((c) => ({ containerID: c, ifname: "eth0" }));
    const gc = await cni({ command: "GC", config: { cniVersion: "1.1.0", "cni.dev/valid-attachments": valid } });
    assert.equal(gc.code, 0, gc.stdout + gc.stderr);
    assert.equal(link(NODE_NS, hostVethName(drop.containerId)), undefined);
    assert.equal(agent.endpoints.has(drop.containerId), false);
    assert.equal(await agent.ipam.get(`${drop.containerId}/eth0`), undefined);
    assert.ok(link(NODE_NS, hostVethName(keep.containerId)));
    assert.ok(agent.endpoints.has(keep.containerId));
    assert.ok(await agent.ipam.get(`${keep.containerId}/eth0`));
  });
});
