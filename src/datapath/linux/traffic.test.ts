/**
 * Pod traffic through the Linux datapath, on real namespaces: three nodes on a fabric bridge,
 * pods wired as the CNI plugin does, each node programmed by its own LinuxDatapath. The fabric
 * counts what crosses it, so the tests see whether pod traffic went as VXLAN or bare.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { routerIP, tunnelMac } from "../node-addressing.js";
import { reportChanged } from "../report.js";
import type { DatapathMode } from "../types.js";
import { LinuxDatapath } from "./linux-datapath.js";
import { NetnsFixture, waitFor } from "./netns-fixture.js";
import { RunningPing, TestTopology, type TestNode, type TestPod } from "./test-topology.js";

describe("Linux datapath: pod traffic between nodes", () => {
  let fixture: NetnsFixture | undefined;
  let topo: TestTopology;
  let pods: TestPod[];
  let sameNodePod: TestPod;
  const datapaths = new Map<TestNode, LinuxDatapath>();

  before(async () => {
    fixture = await NetnsFixture.create();
    topo = await TestTopology.create(fixture, 3);
    pods = [];
    for (const node of topo.nodes) pods.push(await topo.addPod(node, 10, "tunnel"));
    sameNodePod = await topo.addPod(topo.nodes[0]!, 11, "tunnel");
    for (const node of topo.nodes) datapaths.set(node, new LinuxDatapath({ netns: node.netns }));
    await topo.installCounters();
  });
  after(() => fixture?.cleanup());

  const reconcileAll = async (mode: DatapathMode) => {
    for (const node of topo.nodes) {
      const report = await datapaths.get(node)!.reconcile(topo.desired(node, mode));
      assert.deepEqual(report.problems, [], `${node.local.name}: ${JSON.stringify(report.problems)}`);
    }
  };
  const reachable = (from: TestPod, to: TestPod) => waitFor(`${from.ip} to reach ${to.ip}`, () => topo.ping(from, to.ip), 10_000);
  const allPairs = async () => {
    for (const from of pods) for (const to of pods) if (from !== to) await reachable(from, to);
    await reachable(pods[0]!, sameNodePod);
  };
  /** A node reaches another node's pods, and a pod reaches another node's own IP (health checks, NodePorts). */
  const nodesAndPods = async () => {
    const [n1, n2] = [topo.nodes[0]!, topo.nodes[1]!];
    const ping = async (netns: string, to: string) => (await fixture!.exec(netns, "ping", ["-c", "1", "-W", "1", "-n", "-q", to], { allowFailure: true })).code === 0;
    await waitFor(`${n1.local.name} to reach pod ${pods[1]!.ip}`, () => ping(n1.netns, pods[1]!.ip));
    await waitFor(`pod ${pods[0]!.ip} to reach node IP ${n2.local.nodeIP}`, () => ping(pods[0]!.netns, n2.local.nodeIP));
  };
  /** What the node has, in iproute2's own text output (not through the datapath's parsers). */
  const snapshot = async (node: TestNode) => {
    const lines = (text: string) => text.split("\n").map((l) => l.trim()).filter(Boolean).sort();
    const f = fixture!;
    const vxlan = (await f.ip(node.netns, "-o", "link", "show")).includes("trellis_vxlan");
    return {
      routes: lines(await f.ip(node.netns, "route", "show", "proto", "116")),
      fdb: vxlan ? lines((await f.exec(node.netns, "bridge", ["fdb", "show", "dev", "trellis_vxlan"])).stdout) : [],
      neigh: vxlan ? lines(await f.ip(node.netns, "neigh", "show", "dev", "trellis_vxlan", "nud", "permanent")) : [],
    };
  };

  test("tunnel mode: pods on different nodes reach each other, and only as VXLAN on UDP 8472", async () => {
    await reconcileAll("tunnel");
    const before = await topo.counters();
    await allPairs();
    const afterPings = await topo.counters();
    // Six ordered pairs, each at least one request and one reply.
    assert.ok(afterPings.vxlan - before.vxlan >= 12, `VXLAN frames on the fabric: ${before.vxlan} -> ${afterPings.vxlan}`);
    assert.equal(afterPings.barePod, before.barePod, "pod addresses must not appear unencapsulated on the fabric");
    const [stats] = await fixture!.ipJson<{ stats64: { tx: { packets: number } } }>(topo.nodes[0]!.netns, "-s", "link", "show", "dev", "trellis_vxlan");
    assert.ok(stats!.stats64.tx.packets > 0);
    await nodesAndPods();
  });

  test("tunnel mode: the VXLAN device is id 2, port 8472, MTU uplink - 50, and a full-size packet crosses", async () => {
    await reconcileAll("tunnel");
    const node = topo.nodes[0]!;
    const [uplink] = await fixture!.ipJson<{ mtu: number }>(node.netns, "link", "show", "dev", "eth0");
    const [vx] = await fixture!.ipJson<{ mtu: number; address: string; linkinfo: { info_data: { id: number; port: number; local: string; learning: boolean } } }>(
      node.netns,
      "-d",
      "link",
      "show",
      "dev",
      "trellis_vxlan",
    );
    assert.equal(vx!.mtu, uplink!.mtu - 50);
    assert.equal(vx!.address, tunnelMac(node.local.podCIDR));
    assert.deepEqual(
      { id: vx!.linkinfo.info_data.id, port: vx!.linkinfo.info_data.port, local: vx!.linkinfo.info_data.local, learning: vx!.linkinfo.info_data.learning },
      { id: 2, port: 8472, local: node.local.nodeIP, learning: false },
    );
    // 1422 bytes of ICMP payload + 28 of headers = the pod MTU, sent with "don't fragment".
    await reachable(pods[0]!, pods[1]!);
    const big = await fixture!.exec(pods[0]!.netns, "ping", ["-c", "1", "-W", "2", "-M", "do", "-s", String(vx!.mtu - 28), pods[1]!.ip], { allowFailure: true });
    assert.equal(big.code, 0, big.stdout + big.stderr);
  });

  test("removing a peer removes exactly its route, FDB and neighbour entries; only its pods go out of reach", async () => {
    await reconcileAll("tunnel");
    const node = topo.nodes[0]!;
    const gone = topo.nodes[2]!;
    await reachable(pods[0]!, pods[2]!);
    const beforeRemoval = await snapshot(node);
    const report = await datapaths.get(node)!.reconcile(topo.desired(node, "tunnel", topo.peersOf(node).filter((p) => p.name !== gone.local.name)));
    assert.equal(report.removed.length, 3);
    const afterRemoval = await snapshot(node);
    const mac = tunnelMac(gone.local.podCIDR);
    const missing = (a: string[], b: string[]) => a.filter((l) => !b.includes(l));
    assert.deepEqual(missing(beforeRemoval.routes, afterRemoval.routes), [`${gone.local.podCIDR} via ${routerIP(gone.local.podCIDR)} dev trellis_vxlan onlink`]);
    assert.deepEqual(missing(beforeRemoval.fdb, afterRemoval.fdb).length, 1);
    assert.match(missing(beforeRemoval.fdb, afterRemoval.fdb)[0]!, new RegExp(`^${mac} dst ${gone.local.nodeIP.replaceAll(".", "\\.")} `));
    assert.deepEqual(missing(beforeRemoval.neigh, afterRemoval.neigh), [`${routerIP(gone.local.podCIDR)} lladdr ${mac} PERMANENT`]);
    for (const kind of ["routes", "fdb", "neigh"] as const) {
      assert.deepEqual(missing(afterRemoval[kind], beforeRemoval[kind]), [], `nothing new in ${kind}`);
    }
    assert.equal(await topo.ping(pods[0]!, pods[2]!.ip), false, "the removed peer's pod must be out of reach");
    assert.equal(await topo.ping(pods[0]!, pods[1]!.ip), true);
    await reconcileAll("tunnel");
    await reachable(pods[0]!, pods[2]!);
  });

  test("an agent restart (a new LinuxDatapath, same state) changes nothing, and a running ping loses nothing", async () => {
    await reconcileAll("tunnel");
    await reachable(pods[0]!, pods[1]!);
    const node = topo.nodes[0]!;
    const beforeRestart = await snapshot(node);
    const ping = new RunningPing(pods[0]!.netns, pods[1]!.ip, 40);
    try {
      await waitFor("the background ping's first replies", async () => ping.replies >= 5);
      const report = await new LinuxDatapath({ netns: node.netns }).reconcile(topo.desired(node, "tunnel"));
      assert.equal(reportChanged(report), false);
      assert.equal(ping.finished, false, "the reconcile must run while the ping is still going");
      const result = await ping.result();
      assert.equal(result.received, result.transmitted, result.output);
      assert.equal(result.transmitted, 40);
    } finally {
      ping.kill();
    }
    assert.deepEqual(await snapshot(node), beforeRestart);
  });

  test("native mode: pods reach each other unencapsulated, with no tunnel device left", async () => {
    await reconcileAll("native");
    for (const node of topo.nodes) {
      const links = await fixture!.ip(node.netns, "-o", "link", "show");
      assert.ok(!links.includes("trellis_vxlan"), `${node.local.name} still has the tunnel device`);
      const routes = (await snapshot(node)).routes.filter((r) => !r.includes("dev trl"));
      assert.deepEqual(
        routes,
        topo.peersOf(node).map((p) => `${p.podCIDR} via ${p.nodeIP} dev eth0`).sort(),
      );
    }
    const before = await topo.counters();
    await allPairs();
    const afterPings = await topo.counters();
    assert.ok(afterPings.barePod - before.barePod >= 6, `bare pod packets on the fabric: ${before.barePod} -> ${afterPings.barePod}`);
    assert.equal(afterPings.vxlan, before.vxlan, "no VXLAN in native mode");
    await nodesAndPods();
  });

  test("switching native -> tunnel by reconcile brings traffic back into the tunnel", async () => {
    await reconcileAll("native");
    await allPairs();
    await reconcileAll("tunnel");
    const before = await topo.counters();
    await allPairs();
    const afterPings = await topo.counters();
    assert.ok(afterPings.vxlan > before.vxlan);
    assert.equal(afterPings.barePod, before.barePod);
  });
});
