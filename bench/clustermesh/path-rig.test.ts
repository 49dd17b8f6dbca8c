import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { EtcdStore } from "../../src/kvstore/index.js";
import { run } from "../../src/util/exec.js";
import { ChangeTimes } from "./change-times.js";
import { withBenchNamespace } from "./netns.js";
import { NodeRouteProbe, routeDestinations, summarizeNodeRounds } from "./node-routes.js";
import { PathRig } from "./path-rig.js";
import { PodIps, summarizePropagation, type EndpointStage } from "./propagation.js";

describe("PodIps", () => {
  test("hands out each address of the cluster's pod /16 once, then says it ran out", () => {
    const ips = new PodIps({ name: "cluster-1", id: 1, maxConnectedClusters: 255 });
    const first = Array.from({ length: 65_536 }, () => ips.take());
    assert.equal(new Set(first).size, 65_536);
    assert.deepEqual([first[0], first[257], first[65_535]], ["100.65.0.0", "100.65.1.1", "100.65.255.255"]);
    assert.throws(() => ips.take(), /cluster cluster-1: all 65,536 pod IPs of 100\.65\.0\.0\/16 are used/);
  });
});

describe("routeDestinations", () => {
  test("reads the destinations of `ip -j route show`, and refuses output that is not a route list", () => {
    const out = '[{"dst":"100.65.1.0/24","gateway":"100.65.1.1","dev":"trl_vxlan","protocol":"116","flags":["onlink"]},{"dst":"198.18.250.0/24","dev":"eth0"}]\n';
    assert.deepEqual(routeDestinations(out), ["100.65.1.0/24", "198.18.250.0/24"]);
    assert.deepEqual(routeDestinations("\n"), []);
    assert.throws(() => routeDestinations("Error: ipv4: FIB table does not exist."), /ip -j route show printed something that is not JSON: Error: ipv4/);
  });
});

async function countCached(rig: PathRig, prefix: string): Promise<number> {
  const store = new EtcdStore(rig.target.admin);
  try {
    return (await store.list(prefix)).kvs.length;
  } finally {
    await store.close();
  }
}

for (const path of ["direct", "kvstoremesh"] as const) {
  test(`${path}: every endpoint written in cluster-1 reaches the reader in cluster-2, timed from its put`, async (t) => {
    const rig = await PathRig.open(path);
    t.after(() => rig.close());
    const times = new ChangeTimes<EndpointStage>(["acked", "handled"]);
    const started = performance.now();
    const round = await rig.endpoints(500, 40, times);
    const elapsed = performance.now() - started;
    assert.equal(round.handled.length, 40);
    assert.equal(round.acked.length, 40);
    for (const ms of round.handled) assert.ok(ms > 0 && ms < elapsed, `latency ${ms} ms outside the round's ${elapsed} ms`);
    const cached = await countCached(rig, "cilium/cache/ip/v1/cluster-1/");
    // With KVStoreMesh the entries reach the reader through cluster-2's etcd; without, they never enter it.
    assert.equal(cached, path === "kvstoremesh" ? 40 : 0);
    const summary = summarizePropagation(path, 500, [round, round]);
    assert.equal(summary.handled.count, 80);
    assert.equal(summary.rounds, 2);
  });
}

test("direct: node records of cluster-1 become routes in a cluster-2 node's kernel, and the namespace goes afterwards", async (t) => {
  const rig = await PathRig.open("direct");
  t.after(() => rig.close());
  let netnsName = "";
  const rounds = await withBenchNamespace("test", async (netns) => {
    netnsName = netns;
    const probe = await NodeRouteProbe.create(netns, rig.target);
    try {
      const a = await rig.nodes(probe, 2, 50);
      const b = await rig.nodes(probe, 2, 50);
      const routes = routeDestinations((await run("ip", ["-n", netns, "-j", "route", "show", "proto", "116"])).stdout);
      assert.deepEqual(routes.filter((r) => r.startsWith("100.65.")).sort(), ["100.65.1.0/24", "100.65.2.0/24", "100.65.3.0/24", "100.65.4.0/24"]);
      return [a, b];
    } finally {
      probe.stop();
    }
  });
  const result = summarizeNodeRounds("direct", rounds);
  assert.equal(result.nodes, 4);
  assert.equal(result.reconciled.count, 4);
  assert.equal(result.kernel.count, 4);
  // A node's reconcile starts after its handler call, so it cannot finish first.
  assert.ok(result.handled.max <= result.reconciled.max && result.handled.p50 <= result.reconciled.p50, JSON.stringify(result));
  const names = (await run("ip", ["netns", "list"])).stdout;
  assert.ok(!names.includes(netnsName), `${netnsName} left behind`);
});
