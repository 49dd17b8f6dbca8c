/**
 * The node's health endpoint, built for real: a "node" namespace plays the host the agent runs in
 * (the endpoint's operations run inside it through the test driver, as the agent's would), and the
 * endpoint gets its own namespace, veth and responder. Everything is named trtest-hl-<pid>-...;
 * leftovers of a crashed run are removed first.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { hostVethName } from "../cni/netns-veth.js";
import { HealthEndpoint, type HealthEndpointSpec, type HealthEndpointStatus } from "./health-endpoint.js";
import { inNetns, isAlive } from "./process-control.js";
import { run } from "../util/exec.js";
import { TESTBED_PREFIX, Testbed, listNetns, removeLeftovers, testResponderCommand, waitFor } from "./testing/testbed.js";

const NODE_IP = "198.18.252.11";
const ROUTER_IP = "100.127.21.1";
const HEALTH_IP = "100.127.21.2";
const MTU = 1450;

let bed: Testbed;
let nodeNs: string;
let spec: HealthEndpointSpec;

interface Link {
  ifname: string;
  ifindex: number;
  mtu: number;
  flags: string[];
  ifalias?: string;
  addr_info: { family: string; local: string; prefixlen: number }[];
}

async function link(ns: string, name: string): Promise<Link | undefined> {
  const r = await bed.exec(ns, "ip", ["-j", "addr", "show", "dev", name], { allowFailure: true });
  return r.code === 0 ? (JSON.parse(r.stdout) as Link[])[0] : undefined;
}

const ensure = () => bed.driver<HealthEndpointStatus>(nodeNs, { op: "ensure", spec });
const remove = () => bed.driver<{ removed: boolean }>(nodeNs, { op: "remove", spec });

/** What the node's datapath does when the agent registers the endpoint's host veth. */
async function addHostRoute(hostIfName: string): Promise<void> {
  await bed.exec(nodeNs, "ip", ["route", "replace", `${HEALTH_IP}/32`, "dev", hostIfName]);
}

/** `GET /hello` from the node to the health IP, through the veth, as a peer's probe arrives. */
async function helloFromNode(): Promise<{ code: number; body: string }> {
  const r = await bed.exec(nodeNs, "curl", ["-sS", "-m", "5", "-o", "-", "-w", "\n%{http_code}", `http://${HEALTH_IP}:4240/hello`], { allowFailure: true });
  const lines = r.stdout.trim().split("\n");
  return { code: Number(lines.pop()), body: lines.join("\n") || r.stderr.trim() };
}

before(async () => {
  bed = await Testbed.create();
  nodeNs = await bed.namespace("node");
  await bed.exec(nodeNs, "ip", ["addr", "add", `${NODE_IP}/32`, "dev", "lo"]);
  // The node's router IP lives on lo (docs/architecture.md); ARP for it is answered on every veth.
  await bed.exec(nodeNs, "ip", ["addr", "add", `${ROUTER_IP}/32`, "dev", "lo"]);
  spec = {
    netns: bed.name("health"),
    ip: HEALTH_IP,
    routerIp: ROUTER_IP,
    mtu: MTU,
    identity: { cluster: "cluster-1", node: "node-1" },
    stateDir: bed.workDir,
    responder: testResponderCommand(),
    readyTimeoutMs: 30_000,
    env: { TRELLIS_LOG_LEVEL: "warn" },
  };
});

after(async () => {
  await bed?.cleanup();
});

describe("health endpoint", () => {
  let first: HealthEndpointStatus;

  test("ensure() wires a namespace like a pod and starts a responder that answers GET /hello on the health IP", async () => {
    first = await ensure();
    assert.deepEqual(first.changed, { netns: true, veth: true, responder: true });
    assert.equal(first.hostIfName, hostVethName(`health-${spec.netns}`), "the host veth is named like a pod's");
    assert.ok((await listNetns()).includes(spec.netns));

    const host = await link(nodeNs, first.hostIfName);
    assert.ok(host, "host veth exists in the node's namespace");
    assert.equal(host.mtu, MTU);
    assert.ok(host.flags.includes("UP"));
    assert.deepEqual(host.addr_info.filter((a) => a.family === "inet"), [], "the host end carries no address");

    const pod = await link(spec.netns, "eth0");
    assert.ok(pod, "eth0 exists in the endpoint's namespace");
    assert.equal(pod.mtu, MTU);
    assert.deepEqual(
      pod.addr_info.filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`),
      [`${HEALTH_IP}/32`],
    );
    const routes = JSON.parse((await bed.exec(spec.netns, "ip", ["-j", "-4", "route", "show"])).stdout) as { dst: string; gateway?: string; dev: string }[];
    assert.ok(routes.some((r) => r.dst === "default" && r.gateway === ROUTER_IP && r.dev === "eth0"), JSON.stringify(routes));
    assert.ok(routes.some((r) => r.dst === ROUTER_IP && r.dev === "eth0"), JSON.stringify(routes));

    assert.ok(isAlive(first.pid), "the responder runs");
    assert.ok(inNetns(first.pid, `/run/netns/${spec.netns}`), "inside the endpoint's namespace");
    const endpoint = new HealthEndpoint(spec);
    assert.equal(readFileSync(endpoint.pidFile, "utf8").trim(), String(first.pid));

    await addHostRoute(first.hostIfName);
    const hello = await helloFromNode();
    assert.equal(hello.code, 200, hello.body);
    assert.deepEqual(JSON.parse(hello.body), { cluster: "cluster-1", node: "node-1", role: "endpoint" });
  });

  test("ensure() again changes nothing: same veth, same responder", async () => {
    const ifindex = (await link(nodeNs, first.hostIfName))?.ifindex;
    const again = await ensure();
    assert.deepEqual(again.changed, { netns: false, veth: false, responder: false });
    assert.equal(again.pid, first.pid);
    assert.equal((await link(nodeNs, first.hostIfName))?.ifindex, ifindex, "the veth was not recreated");
    assert.equal((await helloFromNode()).code, 200);
  });

  test("a killed responder is restarted by ensure()", async () => {
    process.kill(first.pid, "SIGKILL");
    await waitFor("the responder to die", () => !isAlive(first.pid));
    assert.notEqual((await helloFromNode()).code, 200, "nothing answers while it is dead");
    const restarted = await ensure();
    assert.deepEqual(restarted.changed, { netns: false, veth: false, responder: true });
    assert.notEqual(restarted.pid, first.pid);
    assert.ok(isAlive(restarted.pid));
    assert.equal((await helloFromNode()).code, 200);
    first = restarted;
  });

  test("ensure() rewires an endpoint whose address was removed", async () => {
    await bed.exec(spec.netns, "ip", ["addr", "flush", "dev", "eth0"]);
    const repaired = await ensure();
    assert.deepEqual(repaired.changed, { netns: false, veth: true, responder: false });
    const pod = await link(spec.netns, "eth0");
    assert.deepEqual(pod?.addr_info.filter((a) => a.family === "inet").map((a) => a.local), [HEALTH_IP]);
    // A new veth has a new ifindex; the agent's datapath re-adds the host route on its next reconcile.
    await addHostRoute(repaired.hostIfName);
    assert.equal((await helloFromNode()).code, 200);
  });

  test("a namespace deleted under a running responder is made anew, and the orphaned responder stopped", async () => {
    await run("ip", ["netns", "del", spec.netns]);
    assert.ok(isAlive(first.pid), "the old responder keeps the unnamed namespace alive");
    const rebuilt = await ensure();
    assert.deepEqual(rebuilt.changed, { netns: true, veth: true, responder: true });
    await waitFor("the orphaned responder to stop", () => !isAlive(first.pid));
    assert.ok(inNetns(rebuilt.pid, `/run/netns/${spec.netns}`));
    await addHostRoute(rebuilt.hostIfName);
    assert.equal((await helloFromNode()).code, 200);
    first = rebuilt;
  });

  test("remove() leaves nothing: no process, no namespace, no veth, no pid file or log", async () => {
    const endpoint = new HealthEndpoint(spec);
    assert.ok(existsSync(endpoint.pidFile));
    await remove();
    assert.ok(!isAlive(first.pid), "the responder is stopped");
    assert.ok(!(await listNetns()).includes(spec.netns), "the namespace is gone");
    assert.equal(await link(nodeNs, first.hostIfName), undefined, "the host veth is gone");
    assert.ok(!existsSync(endpoint.pidFile) && !existsSync(endpoint.logFile));
    await remove(); // removing what is not there is fine
  });

  test("a responder that cannot start is reported with its log", async () => {
    const broken = { ...spec, responder: { command: process.execPath, args: ["-e", "console.error('responder config is broken'); process.exit(3)", "--"] } };
    await assert.rejects(bed.driver(nodeNs, { op: "ensure", spec: broken }), /exited right after starting.*responder config is broken/);
    await bed.driver(nodeNs, { op: "remove", spec: broken });
    assert.ok(!(await listNetns()).includes(spec.netns));
  });
});

test("leftovers of a crashed run, namespaces and the processes in them, are removed; live runs' are not", async () => {
  const gone = await run(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
  const leftover = `${TESTBED_PREFIX}${gone.stdout}-health`;
  await run("ip", ["netns", "add", leftover]);
  const sleeper = bed.spawn(leftover, "sleep", ["300"]);
  try {
    await waitFor("the leftover's process to enter its namespace", () => sleeper.pid !== undefined && inNetns(sleeper.pid, `/run/netns/${leftover}`));
    assert.deepEqual(await removeLeftovers(), [leftover]);
    assert.ok(!(await listNetns()).includes(leftover));
    await waitFor("the leftover's process to be stopped", () => sleeper.exitCode !== null || sleeper.signalCode !== null);
    assert.ok((await listNetns()).includes(nodeNs), "this run's namespaces stay");
  } finally {
    sleeper.kill("SIGKILL");
    await run("ip", ["netns", "del", leftover], { allowFailure: true });
  }
});

describe("health endpoint input checks", () => {
  const good: HealthEndpointSpec = {
    netns: "trl-c1-health-node-1",
    ip: "100.65.0.2",
    routerIp: "100.65.0.1",
    mtu: 1450,
    identity: { cluster: "cluster-1", node: "node-1" },
    stateDir: "/tmp/x",
    responder: { command: "trellis", args: ["health", "responder"] },
  };

  test("each bad value is named in the error with the value given", () => {
    const cases: [Partial<HealthEndpointSpec>, RegExp][] = [
      [{ netns: "a/b" }, /health endpoint netns .*"a\/b"/],
      [{ ip: "100.65.0.256" }, /health endpoint IP .*"100\.65\.0\.256"/],
      [{ routerIp: "" }, /router IP .*""/],
      [{ mtu: 20 }, /MTU .*20/],
      [{ identity: { cluster: "", node: "n" } }, /identity\.cluster .*""/],
      [{ responder: { command: "", args: [] } }, /responder must be \{command, args\}/],
      [{ port: 70000 }, /port .*70000/],
    ];
    for (const [patch, pattern] of cases) assert.throws(() => new HealthEndpoint({ ...good, ...patch }), pattern);
  });

  test("a valid spec names the host veth and files from the namespace", () => {
    const e = new HealthEndpoint(good);
    assert.equal(e.hostIfName, hostVethName("health-trl-c1-health-node-1"));
    assert.equal(e.owner, "health:trl-c1-health-node-1");
    assert.ok(!e.owner.includes("/"), "the CNI plugin's GC only collects owners with a slash");
    assert.equal(e.pidFile, "/tmp/x/health-responder-trl-c1-health-node-1.pid");
    assert.equal(new HealthEndpoint({ ...good, endpointId: "cilium-health" }).hostIfName, hostVethName("cilium-health"));
  });
});
