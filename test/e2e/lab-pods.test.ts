import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupConfigDir, configDir, eventually, freshStart, labLeftovers, pods, runningPods, trellis, trellisBackground, trellisJson, type PodRow } from "./helpers.js";

/**
 * Issue 3's acceptance, told as a user would do it: a one-cluster lab of three nodes, six pods,
 * every pod reaching every other by ICMP and HTTP on the same node and across nodes, an agent
 * restarted under a long TCP stream, a pod deleted while its agent is down, and a lab down that
 * leaves nothing behind. Then the same with the native-routing datapath.
 */
const deployment = (replicas: number) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: echo
  labels: {app: echo}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec:
      containers:
      - name: echo
        image: nginx:1.16.1
        ports: [{containerPort: 80}]
`;

/** From each pod, one shell loop pings and curls every pod; returns failures as "src -> dst (what)". */
function meshFailures(all: readonly PodRow[]): string[] {
  const failures: string[] = [];
  for (const src of all) {
    const script = all
      .map((dst) => `ping -c1 -W2 ${dst.ip} >/dev/null 2>&1 || echo "FAIL icmp ${dst.name}"; curl -s -m 3 http://${dst.ip}/ | grep -q '"pod":"${dst.name}"' || echo "FAIL http ${dst.name}"`)
      .join("; ");
    const r = trellis(["exec", src.name, "--context", "cluster-1", "--", "sh", "-c", script]);
    for (const line of r.stdout.split("\n").filter((l) => l.startsWith("FAIL"))) failures.push(`${src.name}@${src.node} -> ${line.slice(5)}`);
  }
  return failures;
}

function endpointsOn(node: string): { podName: string; ip: string }[] {
  return trellisJson(["endpoint", "list", "--context", "cluster-1", "--node", node]);
}

function assertLabDownLeavesNothing(): void {
  trellis(["lab", "down"]);
  assert.deepEqual(labLeftovers(), [], "lab down leaves no namespace, link, route, rule, file or process");
  const contexts = trellisJson<{ name: string }[]>(["config", "get-contexts"]);
  assert.deepEqual(contexts, [], "the lab's contexts are removed from the config file");
}

describe("lab: pods talk across nodes (tunnel)", () => {
  const manifest = join(configDir, "echo.yaml");
  before(() => {
    freshStart();
    writeFileSync(manifest, deployment(6));
  });
  after(() => trellis(["lab", "down"], { allowFailure: true }));

  test("lab up --clusters 1 --nodes 3 brings up a cluster whose nodes are Ready", () => {
    const up = trellis(["lab", "up", "--clusters", "1", "--nodes", "3"]);
    assert.match(up.stderr, /cluster-1: all 3 agents ready/);
    const nodes = trellisJson<{ name: string; status: string; podCIDR: string }[]>(["get", "nodes", "--context", "cluster-1"]);
    assert.deepEqual(nodes.map((n) => [n.name, n.status]), [["node-1", "Ready"], ["node-2", "Ready"], ["node-3", "Ready"]]);
    assert.equal(new Set(nodes.map((n) => n.podCIDR)).size, 3, "each node has its own pod CIDR");
    const again = trellis(["lab", "up", "--clusters", "1", "--nodes", "3"]);
    assert.match(again.stderr, /all 3 agents ready/, "lab up is idempotent");
  });

  test("six pods spread over the nodes, and every pod reaches every other by ICMP and HTTP", async () => {
    assert.match(trellis(["apply", "-f", manifest, "--context", "cluster-1"]).stdout, /deployment.apps\/echo created/);
    const all = await runningPods("cluster-1", 6);
    assert.deepEqual([...new Set(all.map((p) => p.node))].sort(), ["node-1", "node-2", "node-3"]);
    assert.deepEqual(meshFailures(all), []);
  });

  test("an agent restart keeps a long TCP stream across its node alive", async () => {
    const all = pods("cluster-1");
    const client = all.find((p) => p.node === "node-1")!;
    const server = all.find((p) => p.node === "node-2")!;
    const stream = trellisBackground(["exec", client.name, "--context", "cluster-1", "--", "curl", "-sS", "-N", "-m", "30", `http://${server.ip}/stream?seconds=6`]);
    // Once data flows, restart the agent of the server's node under it.
    await eventually("the stream to carry data", () => stream.output().includes("chunk 5/"), 20_000, 50);
    trellis(["lab", "restart", "agent", "--node", "node-2", "--context", "cluster-1"]);
    const r = await stream.done;
    assert.equal(r.code, 0, `the stream ended with an error: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`${server.name} chunk 60/60\\n${server.name} done`));
    assert.deepEqual(meshFailures(all), [], "after the restart every path still works");
  });

  test("a pod deleted while its agent is down is cleaned up after the restart", async () => {
    const before = endpointsOn("node-3");
    assert.equal(before.length, 2);
    trellis(["lab", "stop", "agent", "--node", "node-3", "--context", "cluster-1"]);
    writeFileSync(manifest, deployment(3));
    trellis(["apply", "-f", manifest, "--context", "cluster-1"]);
    const left = await runningPods("cluster-1", 3);
    trellis(["lab", "start", "agent", "--node", "node-3", "--context", "cluster-1"]);
    const expected = left.filter((p) => p.node === "node-3").map((p) => p.name).sort();
    await eventually("node-3's endpoints to match its pods", () => {
      const eps = endpointsOn("node-3").map((e) => e.podName).sort();
      return JSON.stringify(eps) === JSON.stringify(expected) ? eps : undefined;
    });
    assert.deepEqual(meshFailures(left), []);
  });

  test("lab down removes everything the lab made", () => {
    assertLabDownLeavesNothing();
  });
});

describe("lab: pods talk across nodes (native routing)", () => {
  const manifest = join(configDir, "echo-native.yaml");
  before(() => {
    freshStart();
    writeFileSync(manifest, deployment(6));
  });
  after(() => {
    trellis(["lab", "down"], { allowFailure: true });
    cleanupConfigDir();
  });

  test("the same mesh of six pods works with --datapath native", async () => {
    trellis(["lab", "up", "--clusters", "1", "--nodes", "3", "--datapath", "native"]);
    trellis(["apply", "-f", manifest, "--context", "cluster-1"]);
    const all = await runningPods("cluster-1", 6);
    assert.deepEqual(meshFailures(all), []);
    const client = all.find((p) => p.node === "node-1")!;
    const server = all.find((p) => p.node === "node-3")!;
    const stream = trellisBackground(["exec", client.name, "--context", "cluster-1", "--", "curl", "-sS", "-N", "-m", "30", `http://${server.ip}/stream?seconds=4`]);
    await eventually("the stream to carry data", () => stream.output().includes("chunk 5/"), 20_000, 50);
    trellis(["lab", "restart", "agent", "--node", "node-3", "--context", "cluster-1"]);
    const r = await stream.done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /chunk 40\/40/);
  });

  test("lab down removes everything the lab made", () => {
    assertLabDownLeavesNothing();
  });
});
