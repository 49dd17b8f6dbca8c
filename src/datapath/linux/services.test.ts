/**
 * Service load-balancing through the Linux datapath, with real traffic: two nodes on a fabric
 * bridge (tunnel mode), three backend pods (two on node 1, one on node 2), a client pod on node 1,
 * and an "outside" namespace on the fabric standing in for the admin workstation. Every node is
 * programmed by its own LinuxDatapath with the same services.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { run } from "../../util/exec.js";
import { describeObject } from "../objects.js";
import { reportChanged } from "../report.js";
import type { DesiredNodeState, ServiceSpec } from "../types.js";
import { LinuxDatapath } from "./linux-datapath.js";
import { NetnsFixture, waitFor } from "./netns-fixture.js";
import { BACKEND_HTTP_PORT, BACKEND_UDP_PORT, ServiceTraffic, tally, type HttpResult } from "./test-services.js";
import { TestTopology, type TestNode, type TestPod } from "./test-topology.js";

const OUTSIDE_IP = "198.18.250.100";
const WEB_VIP = "198.19.250.10";
const WEB_LB_IP = "198.19.250.200";
const WEB_NODE_PORT = 30080;
const EMPTY_VIP = "198.19.250.11";
const EMPTY_NODE_PORT = 30081;
const DNS_VIP = "198.19.250.53";

describe("Linux datapath: services with real traffic", () => {
  let fixture: NetnsFixture | undefined;
  let topo: TestTopology;
  let outside: string;
  let client: TestPod;
  let backends: TestPod[];
  const traffic = new ServiceTraffic();
  const datapaths = new Map<TestNode, LinuxDatapath>();

  const web = (inactive: readonly string[] = []): ServiceSpec => ({
    id: "default/web",
    protocol: "tcp",
    port: 80,
    clusterIP: WEB_VIP,
    nodePort: WEB_NODE_PORT,
    loadBalancerIPs: [WEB_LB_IP],
    backends: backends.map((b) => ({ ip: b.ip, port: BACKEND_HTTP_PORT, active: !inactive.includes(b.ip) })),
  });
  const services = (inactive: readonly string[] = []): ServiceSpec[] => [
    web(inactive),
    // Its only backend is terminating: new connections are refused.
    { id: "default/empty", protocol: "tcp", port: 80, clusterIP: EMPTY_VIP, nodePort: EMPTY_NODE_PORT, backends: [{ ip: backends[0]!.ip, port: BACKEND_HTTP_PORT, active: false }] },
    { id: "kube-system/dns", protocol: "udp", port: 53, clusterIP: DNS_VIP, backends: [{ ip: backends[2]!.ip, port: BACKEND_UDP_PORT, active: true }] },
  ];
  const desired = (node: TestNode, inactive: readonly string[] = []): DesiredNodeState => ({ ...topo.desired(node, "tunnel"), services: services(inactive) });
  const reconcileAll = async (inactive: readonly string[] = []) => {
    for (const node of topo.nodes) {
      const report = await datapaths.get(node)!.reconcile(desired(node, inactive));
      assert.deepEqual(report.problems, [], `${node.local.name}: ${JSON.stringify(report.problems)}`);
    }
  };
  const backendIps = () => backends.map((b) => b.ip).sort();
  const seen = (results: readonly HttpResult[]) => [...tally(results).keys()].sort();

  before(async () => {
    fixture = await NetnsFixture.create();
    topo = await TestTopology.create(fixture, 2);
    const [n1, n2] = topo.nodes as [TestNode, TestNode];
    backends = [await topo.addPod(n1, 10, "tunnel"), await topo.addPod(n1, 11, "tunnel"), await topo.addPod(n2, 10, "tunnel")];
    client = await topo.addPod(n1, 20, "tunnel");
    outside = await fixture.namespace("outside");
    await fixture.ip(outside, "link", "add", "eth0", "type", "veth", "peer", "name", "port-out", "netns", topo.fabric);
    await fixture.ip(topo.fabric, "link", "set", "dev", "port-out", "master", "br0", "up");
    await fixture.ip(outside, "address", "add", `${OUTSIDE_IP}/24`, "dev", "eth0");
    await fixture.ip(outside, "link", "set", "dev", "eth0", "up");
    // The load-balancer IP is announced to the outside world as reachable through node 1.
    await fixture.ip(outside, "route", "add", `${WEB_LB_IP}/32`, "via", n1.local.nodeIP);
    for (const b of backends) await traffic.startBackend(b.netns, b.ip);
    for (const node of topo.nodes) datapaths.set(node, new LinuxDatapath({ netns: node.netns }));
    await reconcileAll();
  });
  after(async () => {
    await traffic.stopAll();
    await fixture?.cleanup();
  });

  test("from a pod, new connections to a ClusterIP reach every active backend on both nodes, and keep the pod's address", async () => {
    const results = await traffic.requests(client.netns, WEB_VIP, 80, 60);
    assert.deepEqual(seen(results), backendIps(), JSON.stringify([...tally(results)]));
    assert.deepEqual([...new Set(results.map((r) => r.client))], [client.ip], "pod-to-ClusterIP traffic must keep the pod's source address");
  });

  test("a backend marked inactive takes no new connections, while its established connection keeps flowing", async () => {
    await reconcileAll();
    const stream = traffic.stream(client.netns, WEB_VIP, 80);
    try {
      await waitFor("the stream's first line", async () => stream.lines.length > 0);
      const draining = stream.backend!;
      const report = await datapaths.get(topo.nodes[0]!)!.reconcile(desired(topo.nodes[0]!, [draining]));
      assert.equal(report.counts["lb-frontend"].updated, 3, "ClusterIP, load-balancer IP and nodePort frontends of the service");
      await reconcileAll([draining]);
      const linesAtChange = stream.lines.length;

      const results = await traffic.requests(client.netns, WEB_VIP, 80, 45);
      assert.deepEqual(
        seen(results),
        backendIps().filter((ip) => ip !== draining),
      );
      await waitFor("the established stream to keep flowing after the change", async () => stream.lines.length >= linesAtChange + 10);
      assert.equal(stream.ended, false);
      assert.deepEqual([...new Set(stream.lines.map((l) => l.split(" ")[0]))], [draining]);
    } finally {
      traffic.stop(stream.child);
      await reconcileAll();
    }
  });

  test("an agent restart (a new LinuxDatapath, same state) changes nothing, and an established connection keeps flowing", async () => {
    const node = topo.nodes[0]!;
    const stream = traffic.stream(client.netns, WEB_VIP, 80);
    try {
      await waitFor("the stream's first line", async () => stream.lines.length > 0);
      const before = await nftRuleset(node.netns);
      const report = await new LinuxDatapath({ netns: node.netns }).reconcile(desired(node));
      assert.equal(reportChanged(report), false, JSON.stringify(report.updated));
      assert.deepEqual(report.problems, []);
      assert.equal(await nftRuleset(node.netns), before);
      const linesAtRestart = stream.lines.length;
      await waitFor("the stream to keep flowing", async () => stream.lines.length >= linesAtRestart + 5);
    } finally {
      traffic.stop(stream.child);
    }
  });

  test("a NodePort is reachable on every node IP from outside the nodes, backends on the other node included (masqueraded)", async () => {
    for (const node of topo.nodes) {
      const results = await traffic.requests(outside, node.local.nodeIP, WEB_NODE_PORT, 60);
      assert.deepEqual(seen(results), backendIps(), `${node.local.nodeIP}:${WEB_NODE_PORT}: ${JSON.stringify([...tally(results)])}`);
      // A backend on another node answers to this node's address, so its reply comes back through it.
      const remote = results.filter((r) => !backendsOn(node).includes(r.backend!));
      assert.ok(remote.length > 0);
      for (const r of remote) assert.notEqual(r.client, OUTSIDE_IP, `${r.backend} saw the outside address: not masqueraded`);
    }
  });

  test("a load-balancer IP routed to a node is reachable from outside", async () => {
    const results = await traffic.requests(outside, WEB_LB_IP, 80, 45);
    assert.deepEqual(seen(results), backendIps(), JSON.stringify([...tally(results)]));
  });

  test("a service with no active backend refuses new connections at once, by ClusterIP and by NodePort", async () => {
    const fromPod = await traffic.requests(client.netns, EMPTY_VIP, 80, 3);
    const fromOutside = await traffic.requests(outside, topo.nodes[1]!.local.nodeIP, EMPTY_NODE_PORT, 3);
    for (const r of [...fromPod, ...fromOutside]) {
      assert.equal(r.error, "ECONNREFUSED", JSON.stringify(r));
      assert.ok(r.ms! < 1000, `refused after ${r.ms} ms`);
    }
  });

  test("a UDP ClusterIP is answered by its backend on the other node", async () => {
    assert.deepEqual(await traffic.udpRequest(client.netns, DNS_VIP, 53), { backend: backends[2]!.ip });
  });

  test("a pod reaching itself through its own service gets its answer (hairpin)", async () => {
    const self = backends[0]!;
    const results = await traffic.requests(self.netns, WEB_VIP, 80, 60);
    assert.deepEqual(seen(results), backendIps(), JSON.stringify([...tally(results)]));
    for (const r of results.filter((x) => x.backend === self.ip)) assert.notEqual(r.client, self.ip);
  });

  test("the node itself reaches a ClusterIP", async () => {
    // Like any host, the node needs a route covering the service range for connect() to start;
    // on a real node that is its default route. The DNAT then sends the packet to the backend.
    const node = topo.nodes[0]!;
    await fixture!.ip(node.netns, "route", "replace", "198.19.0.0/16", "dev", "eth0");
    const results = await traffic.requests(node.netns, WEB_VIP, 80, 45);
    assert.deepEqual(seen(results), backendIps(), JSON.stringify([...tally(results)]));
  });

  test("a service table changed behind the agent's back is repaired by the next resync", async () => {
    const node = topo.nodes[1]!;
    const dp = new LinuxDatapath({ netns: node.netns, serviceResyncMs: 0 });
    await dp.reconcile(desired(node));
    await fixture!.exec(node.netns, "nft", ["delete", "element", "ip", "trellis_lb", "service_ips", "{", `${WEB_VIP} . tcp . 80`, "}"]);
    await fixture!.exec(node.netns, "nft", ["flush", "chain", "ip", "trellis_lb", "postrouting"]);
    const report = await dp.reconcile(desired(node));
    // The frontend's backend slots were left without their dispatch entry; the table lost a rule.
    assert.deepEqual(
      report.updated.map((u) => u.from.kind),
      ["lb-table", "lb-frontend"],
    );
    assert.match(describeObject(report.updated[1]!.from), /\[unexpected: backend slots without a frontend\]/);
    assert.match(describeObject(report.updated[0]!.from), /\[unexpected: chain postrouting has other rules\]/);
    assert.deepEqual(report.problems, []);
    const results = await traffic.requests(outside, node.local.nodeIP, WEB_NODE_PORT, 30);
    assert.deepEqual(seen(results), backendIps());
  });

  test("teardown removes the service table and leaves other tables alone", async () => {
    const node = topo.nodes[0]!;
    await fixture!.exec(node.netns, "nft", ["-f", "-"], { input: "table inet someone_else {\n chain input { type filter hook input priority 0; policy accept; }\n}\n" });
    const report = await datapaths.get(node)!.teardown();
    assert.ok(report.removed.some((o) => o.kind === "lb-table"));
    const tables = (await fixture!.exec(node.netns, "nft", ["list", "tables"])).stdout;
    assert.doesNotMatch(tables, /trellis_lb/);
    assert.match(tables, /table inet someone_else/);
    const after = await traffic.requests(client.netns, WEB_VIP, 80, 1);
    assert.ok(after[0]!.error, "with the table gone the ClusterIP leads nowhere");
  });

  function backendsOn(node: TestNode): string[] {
    return node.pods.map((p) => p.ip);
  }
});

async function nftRuleset(netns: string): Promise<string> {
  return (await run("ip", ["netns", "exec", netns, "nft", "list", "table", "ip", "trellis_lb"])).stdout;
}
