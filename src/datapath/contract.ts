/**
 * What every Datapath guarantees, as one suite each implementation runs against itself
 * (fake/recording-datapath.test.ts, linux/linux-datapath.test.ts). The reports are compared with
 * the plan (linux/plan.ts), so the fake and the Linux datapath report the same objects for the
 * same states.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DatapathInputError } from "./errors.js";
import { planNode } from "./linux/plan.js";
import { routerIP, tunnelMac } from "./node-addressing.js";
import { describeObject } from "./objects.js";
import { reportChanged } from "./report.js";
import type {
  Datapath,
  DatapathMode,
  DatapathObject,
  DesiredNodeState,
  EndpointPolicyRules,
  LocalNode,
  NodePolicyState,
  PeerNode,
  PolicyReconcileReport,
  ReconcileReport,
  ServiceSpec,
} from "./types.js";

/** A node, clean of Trellis state and with IP forwarding off, for one test. */
export interface ContractNode {
  readonly datapath: Datapath;
  /** Another instance over the same node, as after an agent restart. */
  restart(): Datapath;
  /** The node's own record: its uplink exists and carries the node IP. */
  readonly local: LocalNode;
  readonly uplinkMtu: number;
  /** Underlay addresses on the uplink's subnet, usable as peer node IPs (at least 3). */
  readonly peerNodeIPs: readonly string[];
  /** Host-side interfaces that exist on the node, usable as endpoints' host veths (at least 3). */
  readonly endpointInterfaces: readonly string[];
  /** Trellis's objects on the node now, read without going through the datapath. */
  installed(): Promise<DatapathObject[]>;
  cleanup(): Promise<void>;
}

export interface ContractHarness {
  createNode(): Promise<ContractNode>;
}

const described = (objects: readonly DatapathObject[]) => objects.map(describeObject).sort();
const changed = (r: ReconcileReport) => ({
  added: described(r.added),
  updated: r.updated.map((u) => `${describeObject(u.from)} -> ${describeObject(u.to)}`).sort(),
  removed: described(r.removed),
});
const NOTHING = { added: [], updated: [], removed: [] };
const FORWARDING_ON = "sysctl net.ipv4.ip_forward=0 -> sysctl net.ipv4.ip_forward=1";

function scenario(node: ContractNode, mode: DatapathMode, peerCount = 3, endpointCount = 2): DesiredNodeState {
  const peers: PeerNode[] = node.peerNodeIPs.slice(0, peerCount).map((nodeIP, i) => ({
    name: `peer-${i + 1}`,
    cluster: i === 2 ? "remote" : node.local.cluster,
    nodeIP,
    podCIDR: `100.127.${20 + i}.0/24`,
  }));
  const base = node.local.podCIDR.split(".").slice(0, 3).join(".");
  const endpoints = node.endpointInterfaces.slice(0, endpointCount).map((hostIfName, i) => ({ ip: `${base}.${10 + i}`, hostIfName }));
  return { mode, local: node.local, peers, endpoints };
}

/**
 * Two services: a TCP one with a nodePort and a load-balancer IP, backends on this node and on a
 * peer, one of them inactive; and a UDP one with a single backend.
 */
function withServices(state: DesiredNodeState): DesiredNodeState {
  const local = state.local.podCIDR.split(".").slice(0, 3).join(".");
  const web: ServiceSpec = {
    id: "default/web",
    protocol: "tcp",
    port: 80,
    clusterIP: "198.19.250.10",
    nodePort: 30080,
    loadBalancerIPs: ["198.19.250.200"],
    backends: [
      { ip: `${local}.10`, port: 8080, active: true },
      { ip: "100.127.20.10", port: 8080, active: true },
      { ip: "100.127.21.10", port: 8080, active: true },
      { ip: "100.127.21.11", port: 8080, active: false },
    ],
  };
  const dns: ServiceSpec = { id: "kube-system/dns", protocol: "udp", port: 53, clusterIP: "198.19.250.53", backends: [{ ip: `${local}.11`, port: 5353, active: true }] };
  return { ...state, services: [web, dns] };
}

function replaceService(state: DesiredNodeState, id: string, change: (s: ServiceSpec) => ServiceSpec | undefined): DesiredNodeState {
  const services = (state.services ?? []).flatMap((s) => (s.id === id ? [change(s)].filter((x): x is ServiceSpec => x !== undefined) : [s]));
  return { ...state, services };
}

function peerObjects(state: DesiredNodeState, node: ContractNode, peer: PeerNode): string[] {
  const all = planNode({ ...state, peers: [peer], endpoints: [] }, node.uplinkMtu);
  const without = planNode({ ...state, peers: [], endpoints: [] }, node.uplinkMtu);
  const base = new Set(described(without));
  return described(all).filter((d) => !base.has(d));
}

export function datapathContract(name: string, harness: ContractHarness): void {
  describe(`Datapath contract: ${name}`, () => {
    const withNode = (title: string, body: (node: ContractNode) => Promise<void>) =>
      test(title, async () => {
        const node = await harness.createNode();
        try {
          await body(node);
        } finally {
          await node.cleanup();
        }
      });

    for (const mode of ["tunnel", "native"] as const) {
      withNode(`${mode}: the first reconcile adds exactly what the desired state calls for`, async (node) => {
        const desired = scenario(node, mode);
        const planned = described(planNode(desired, node.uplinkMtu));
        const report = await node.datapath.reconcile(desired);
        assert.deepEqual(changed(report), { ...NOTHING, added: planned.filter((d) => !d.startsWith("sysctl")), updated: [FORWARDING_ON] });
        assert.equal(report.kept, 0);
        assert.deepEqual(report.problems, []);
        assert.equal(report.counts.route.added, desired.peers.length + desired.endpoints.length);
        assert.equal(report.counts.fdb.added, mode === "tunnel" ? desired.peers.length : 0);
        assert.equal(report.counts.neigh.added, mode === "tunnel" ? desired.peers.length : 0);
        assert.ok(report.durationMs >= 0);
        assert.deepEqual(described(await node.installed()), planned);
      });

      withNode(`${mode}: reconciling the same state again changes nothing`, async (node) => {
        const desired = scenario(node, mode);
        const first = await node.datapath.reconcile(desired);
        const second = await node.datapath.reconcile(desired);
        assert.deepEqual(changed(second), NOTHING);
        assert.equal(second.kept, first.added.length + first.updated.length);
        assert.deepEqual(second.problems, []);
      });

      withNode(`${mode}: removing a peer removes exactly its objects, adding it back adds them again`, async (node) => {
        const desired = scenario(node, mode);
        await node.datapath.reconcile(desired);
        const gone = desired.peers[1]!;
        const expected = peerObjects(desired, node, gone);
        assert.equal(expected.length, mode === "tunnel" ? 3 : 1);
        const removal = await node.datapath.reconcile({ ...desired, peers: desired.peers.filter((p) => p !== gone) });
        assert.deepEqual(changed(removal), { ...NOTHING, removed: expected });
        const installed = described(await node.installed());
        for (const d of expected) assert.ok(!installed.includes(d), `${d} is still installed`);
        const back = await node.datapath.reconcile(desired);
        assert.deepEqual(changed(back), { ...NOTHING, added: expected });
      });

      withNode(`${mode}: an endpoint's host route comes and goes with the endpoint`, async (node) => {
        const desired = scenario(node, mode, 1, 1);
        await node.datapath.reconcile(desired);
        const base = node.local.podCIDR.split(".").slice(0, 3).join(".");
        const extra = { ip: `${base}.77`, hostIfName: node.endpointInterfaces[2]! };
        const route = `route ${extra.ip}/32 dev ${extra.hostIfName}`;
        const added = await node.datapath.reconcile({ ...desired, endpoints: [...desired.endpoints, extra] });
        assert.deepEqual(changed(added), { ...NOTHING, added: [route] });
        const removed = await node.datapath.reconcile(desired);
        assert.deepEqual(changed(removed), { ...NOTHING, removed: [route] });
      });
    }

    withNode("tunnel: a peer's new node IP moves its FDB entry and touches nothing else", async (node) => {
      const desired = scenario(node, "tunnel");
      await node.datapath.reconcile(desired);
      const moved = { ...desired.peers[0]!, nodeIP: node.peerNodeIPs[3] ?? "198.18.250.99" };
      const report = await node.datapath.reconcile({ ...desired, peers: [moved, ...desired.peers.slice(1)] });
      const mac = tunnelMac(moved.podCIDR);
      assert.deepEqual(changed(report), {
        ...NOTHING,
        added: [`fdb ${mac} dev trellis_vxlan dst ${moved.nodeIP}`],
        removed: [`fdb ${mac} dev trellis_vxlan dst ${desired.peers[0]!.nodeIP}`],
      });
    });

    withNode("native: a peer's new node IP updates its route in place", async (node) => {
      const desired = scenario(node, "native");
      await node.datapath.reconcile(desired);
      const old = desired.peers[0]!;
      const moved = { ...old, nodeIP: node.peerNodeIPs[3] ?? "198.18.250.99" };
      const report = await node.datapath.reconcile({ ...desired, peers: [moved, ...desired.peers.slice(1)] });
      const uplink = node.local.uplink;
      assert.deepEqual(changed(report), {
        ...NOTHING,
        updated: [`route ${old.podCIDR} via ${old.nodeIP} dev ${uplink} -> route ${old.podCIDR} via ${moved.nodeIP} dev ${uplink}`],
      });
    });

    withNode("the tunnel device's MTU is the underlay MTU minus 50, and follows an override in place", async (node) => {
      const desired = scenario(node, "tunnel");
      const first = await node.datapath.reconcile(desired);
      const link = first.added.find((o) => o.kind === "link");
      assert.ok(link && link.kind === "link");
      assert.equal(link.mtu, node.uplinkMtu - 50);
      assert.equal(link.mac, tunnelMac(node.local.podCIDR));
      const narrower = await node.datapath.reconcile({ ...desired, local: { ...desired.local, underlayMtu: node.uplinkMtu - 100 } });
      assert.equal(narrower.updated.length, 1);
      const to = narrower.updated[0]!.to;
      assert.ok(to.kind === "link" && to.mtu === node.uplinkMtu - 150);
      assert.deepEqual([narrower.added, narrower.removed], [[], []]);
    });

    withNode("switching tunnel -> native -> tunnel by reconcile swaps the objects and keeps the rest", async (node) => {
      const tunnel = scenario(node, "tunnel");
      const native = scenario(node, "native");
      await node.datapath.reconcile(tunnel);
      const toNative = await node.datapath.reconcile(native);
      const n = tunnel.peers.length;
      assert.equal(toNative.counts.link.removed, 1);
      assert.equal(toNative.counts.fdb.removed, n);
      assert.equal(toNative.counts.neigh.removed, n);
      assert.equal(toNative.counts.route.updated, n);
      assert.equal(toNative.added.length, 0);
      assert.equal(toNative.kept, 2 + tunnel.endpoints.length);
      assert.deepEqual(described(await node.installed()), described(planNode(native, node.uplinkMtu)));
      assert.deepEqual(changed(await node.datapath.reconcile(native)), NOTHING);

      const toTunnel = await node.datapath.reconcile(tunnel);
      assert.equal(toTunnel.counts.link.added, 1);
      assert.equal(toTunnel.counts.fdb.added, n);
      assert.equal(toTunnel.counts.neigh.added, n);
      assert.equal(toTunnel.counts.route.updated, n);
      assert.equal(toTunnel.removed.length, 0);
      assert.deepEqual(described(await node.installed()), described(planNode(tunnel, node.uplinkMtu)));
    });

    withNode("a new instance over a programmed node changes nothing for the same state", async (node) => {
      const desired = scenario(node, "tunnel");
      await node.datapath.reconcile(desired);
      const report = await node.restart().reconcile(desired);
      assert.deepEqual(changed(report), NOTHING);
      assert.deepEqual(report.problems, []);
    });

    withNode("a new instance removes what went stale while no agent ran", async (node) => {
      const desired = scenario(node, "tunnel");
      await node.datapath.reconcile(desired);
      const fewer = { ...desired, peers: desired.peers.slice(0, 1), endpoints: desired.endpoints.slice(0, 1) };
      const report = await node.restart().reconcile(fewer);
      const stale = [...desired.peers.slice(1).flatMap((p) => peerObjects(desired, node, p)), `route ${desired.endpoints[1]!.ip}/32 dev ${desired.endpoints[1]!.hostIfName}`];
      assert.deepEqual(changed(report), { ...NOTHING, removed: stale.sort() });
    });

    withNode("teardown removes everything but sysctls, twice is harmless, and a reconcile installs it all again", async (node) => {
      const desired = scenario(node, "tunnel");
      const first = await node.datapath.reconcile(desired);
      const torn = await node.datapath.teardown();
      assert.deepEqual(described(torn.removed), described(first.added.filter((o) => o.kind !== "sysctl")));
      assert.deepEqual(described(await node.installed()), ["sysctl net.ipv4.ip_forward=1"]);
      assert.deepEqual((await node.restart().teardown()).removed, []);
      const again = await node.datapath.reconcile(desired);
      assert.deepEqual(changed(again), { ...NOTHING, added: described(torn.removed) });
      assert.equal(again.kept, 1);
    });

    withNode("a malformed desired state is rejected, naming each bad field and value, and nothing changes", async (node) => {
      const desired = scenario(node, "tunnel");
      await node.datapath.reconcile(desired);
      const before = described(await node.installed());
      const bad: DesiredNodeState = {
        ...desired,
        peers: [{ ...desired.peers[0]!, nodeIP: "198.18.250.300" }, ...desired.peers.slice(1)],
        endpoints: [{ ip: "100.126.9.9", hostIfName: node.endpointInterfaces[0]! }],
      };
      await assert.rejects(node.datapath.reconcile(bad), (e: unknown) => {
        assert.ok(e instanceof DatapathInputError);
        assert.equal(e.issues.length, 2);
        assert.match(e.message, /nodeIP "198\.18\.250\.300" is not an IPv4 address/);
        assert.match(e.message, /ip "100\.126\.9\.9" is outside the local pod CIDR/);
        return true;
      });
      assert.deepEqual(described(await node.installed()), before);
      assert.deepEqual(changed(await node.datapath.reconcile(desired)), NOTHING);
    });

    withNode("services: the first reconcile adds the table, a frontend per ClusterIP, load-balancer IP and nodePort, and a hairpin entry per pod", async (node) => {
      const desired = withServices(scenario(node, "tunnel"));
      const network = described(planNode({ ...desired, services: [] }, node.uplinkMtu));
      const report = await node.datapath.reconcile(desired);
      const lb = described(report.added).filter((d) => d.startsWith("lb-"));
      assert.deepEqual(lb, [
        "lb-frontend default/web clusterIP 198.19.250.10:80/tcp -> 100.127.1.10:8080 100.127.20.10:8080 100.127.21.10:8080",
        "lb-frontend default/web loadBalancer 198.19.250.200:80/tcp -> 100.127.1.10:8080 100.127.20.10:8080 100.127.21.10:8080",
        "lb-frontend default/web nodePort *:30080/tcp -> 100.127.1.10:8080 100.127.20.10:8080 100.127.21.10:8080",
        "lb-frontend kube-system/dns clusterIP 198.19.250.53:53/udp -> 100.127.1.11:5353",
        ...desired.endpoints.map((e) => `lb-hairpin ${e.ip}`),
        "lb-table ip trellis_lb",
      ]);
      assert.deepEqual(report.problems, []);
      assert.deepEqual(described(await node.installed()), [...network, ...lb].sort());
      assert.deepEqual(changed(await node.datapath.reconcile(desired)), NOTHING);
    });

    withNode("services: a backend turning inactive rewrites only its service's frontends, over the backends still active", async (node) => {
      const desired = withServices(scenario(node, "tunnel"));
      await node.datapath.reconcile(desired);
      const drained = replaceService(desired, "default/web", (s) => ({ ...s, backends: s.backends.map((b) => (b.ip === "100.127.20.10" ? { ...b, active: false } : b)) }));
      const report = await node.datapath.reconcile(drained);
      const two = "100.127.1.10:8080 100.127.21.10:8080";
      assert.deepEqual(
        report.updated.map((u) => describeObject(u.to)).sort(),
        [
          `lb-frontend default/web clusterIP 198.19.250.10:80/tcp -> ${two}`,
          `lb-frontend default/web loadBalancer 198.19.250.200:80/tcp -> ${two}`,
          `lb-frontend default/web nodePort *:30080/tcp -> ${two}`,
        ],
      );
      assert.deepEqual([report.added, report.removed], [[], []]);
      assert.equal(report.kept, planNode(drained, node.uplinkMtu).length - 3);
      assert.equal(report.counts["lb-frontend"].kept, 1);
      assert.deepEqual(described(await node.installed()), described(planNode(drained, node.uplinkMtu)));
    });

    withNode("services: with no active backend a service keeps its frontends, which reject new connections", async (node) => {
      const desired = withServices(scenario(node, "tunnel"));
      await node.datapath.reconcile(desired);
      const none = replaceService(desired, "kube-system/dns", (s) => ({ ...s, backends: s.backends.map((b) => ({ ...b, active: false })) }));
      const report = await node.datapath.reconcile(none);
      assert.deepEqual(changed(report), {
        added: [],
        updated: ["lb-frontend kube-system/dns clusterIP 198.19.250.53:53/udp -> 100.127.1.11:5353 -> lb-frontend kube-system/dns clusterIP 198.19.250.53:53/udp -> reject (no active backend)"],
        removed: [],
      });
      assert.ok(described(await node.installed()).includes("lb-frontend kube-system/dns clusterIP 198.19.250.53:53/udp -> reject (no active backend)"));
    });

    withNode("services: more than 32 active backends get a selector chain of their own, which goes when no frontend needs it", async (node) => {
      const desired = withServices(scenario(node, "tunnel"));
      await node.datapath.reconcile(desired);
      const big = (active: number) =>
        replaceService(desired, "kube-system/dns", (s) => ({
          ...s,
          backends: Array.from({ length: 40 }, (_, i) => ({ ip: `100.127.30.${10 + i}`, port: 5353, active: i < active })),
        }));
      const grown = await node.datapath.reconcile(big(33));
      assert.deepEqual(described(grown.added), ["lb-selector clusterIP/udp of 33 backends"]);
      assert.equal(grown.counts["lb-frontend"].updated, 1);
      const bigger = await node.datapath.reconcile(big(34));
      assert.deepEqual([described(bigger.added), described(bigger.removed)], [["lb-selector clusterIP/udp of 34 backends"], ["lb-selector clusterIP/udp of 33 backends"]]);
      assert.deepEqual(described(await node.installed()), described(planNode(big(34), node.uplinkMtu)));
      assert.deepEqual(changed(await node.restart().reconcile(big(34))), NOTHING);
      const shrunk = await node.datapath.reconcile(big(32));
      assert.deepEqual(described(shrunk.removed), ["lb-selector clusterIP/udp of 34 backends"]);
    });

    withNode("services: the order backends are listed in does not matter", async (node) => {
      const desired = withServices(scenario(node, "tunnel"));
      await node.datapath.reconcile(desired);
      const reordered = replaceService(desired, "default/web", (s) => ({ ...s, backends: [...s.backends].reverse() }));
      assert.deepEqual(changed(await node.datapath.reconcile(reordered)), NOTHING);
    });

    withNode("services: removing a service removes exactly its objects; removing the last one removes the table", async (node) => {
      const desired = withServices(scenario(node, "tunnel"));
      await node.datapath.reconcile(desired);
      const withoutWeb = replaceService(desired, "default/web", () => undefined);
      const report = await node.datapath.reconcile(withoutWeb);
      assert.deepEqual(changed(report), {
        ...NOTHING,
        removed: [
          "lb-frontend default/web clusterIP 198.19.250.10:80/tcp -> 100.127.1.10:8080 100.127.20.10:8080 100.127.21.10:8080",
          "lb-frontend default/web loadBalancer 198.19.250.200:80/tcp -> 100.127.1.10:8080 100.127.20.10:8080 100.127.21.10:8080",
          "lb-frontend default/web nodePort *:30080/tcp -> 100.127.1.10:8080 100.127.20.10:8080 100.127.21.10:8080",
        ],
      });
      const last = await node.datapath.reconcile({ ...desired, services: [] });
      assert.equal(last.counts["lb-table"].removed, 1);
      assert.equal(last.counts["lb-frontend"].removed, 1);
      assert.equal(last.counts["lb-hairpin"].removed, desired.endpoints.length);
      assert.deepEqual(described(await node.installed()).filter((d) => d.startsWith("lb-")), []);
    });

    withNode("services: a new instance adopts the table unchanged, and removes services that went away while no agent ran", async (node) => {
      const desired = withServices(scenario(node, "tunnel"));
      await node.datapath.reconcile(desired);
      assert.deepEqual(changed(await node.restart().reconcile(desired)), NOTHING);
      const report = await node.restart().reconcile(replaceService(desired, "kube-system/dns", () => undefined));
      assert.deepEqual(changed(report), {
        ...NOTHING,
        removed: ["lb-frontend kube-system/dns clusterIP 198.19.250.53:53/udp -> 100.127.1.11:5353"],
      });
    });

    withNode("services: teardown removes the service table along with the rest", async (node) => {
      const desired = withServices(scenario(node, "tunnel"));
      const first = await node.datapath.reconcile(desired);
      const torn = await node.datapath.teardown();
      assert.deepEqual(described(torn.removed), described(first.added.filter((o) => o.kind !== "sysctl")));
      assert.deepEqual(described(await node.installed()), ["sysctl net.ipv4.ip_forward=1"]);
      assert.deepEqual(changed(await node.datapath.reconcile(desired)), { ...NOTHING, added: described(torn.removed) });
    });

    withNode("services: malformed or clashing services are rejected, naming the service, field and value, and nothing changes", async (node) => {
      const desired = withServices(scenario(node, "tunnel"));
      await node.datapath.reconcile(desired);
      const before = described(await node.installed());
      const [web, dns] = desired.services!;
      const bad: DesiredNodeState = {
        ...desired,
        services: [
          web!,
          { ...dns!, protocol: "sctp" as never },
          { ...dns!, id: "kube-system/dns-copy", clusterIP: web!.loadBalancerIPs![0]!, port: 80, protocol: "tcp" },
          { ...web!, id: "default/web2", clusterIP: "198.19.250.11", loadBalancerIPs: [], nodePort: 80, backends: [{ ip: "100.127.1.300", port: 8080, active: true }] },
          dns!,
        ],
      };
      await assert.rejects(node.datapath.reconcile(bad), (e: unknown) => {
        assert.ok(e instanceof DatapathInputError);
        assert.deepEqual(e.issues, [
          'services[1] (kube-system/dns): protocol "sctp" must be "tcp" or "udp"',
          "services[2] (kube-system/dns-copy): clusterIP 198.19.250.200:80/tcp is already a frontend of services[0]",
          "services[3] (default/web2): nodePort 80 must be an integer from 30000 to 32767",
          'services[3] (default/web2): backends[0]: ip "100.127.1.300" is not an IPv4 address',
          'services[4] (kube-system/dns): id "kube-system/dns" is already used by services[1]; ids must be unique',
        ]);
        return true;
      });
      assert.deepEqual(described(await node.installed()), before);
    });

    withNode("reconciles called together run one after the other; the last one wins", async (node) => {
      const full = scenario(node, "tunnel");
      const less = { ...full, peers: full.peers.slice(0, 1) };
      const [a, b] = await Promise.all([node.datapath.reconcile(full), node.datapath.reconcile(less)]);
      assert.equal(a.removed.length, 0);
      assert.deepEqual(
        described(b.removed),
        full.peers
          .slice(1)
          .flatMap((p) => peerObjects(full, node, p))
          .sort(),
      );
      assert.deepEqual(described(await node.installed()), described(planNode(less, node.uplinkMtu)));
      assert.ok(described(await node.installed()).includes(`neigh ${routerIP(full.peers[0]!.podCIDR)} lladdr ${tunnelMac(full.peers[0]!.podCIDR)} dev trellis_vxlan nud permanent`));
    });

    policyContract(withNode);
  });
}

/*
 * Policy. The reports count against what the instance applied before: a new instance (or one
 * after teardown or a failure) rebuilds and counts everything as added.
 */

const A = 65537;
const B = 65538;

function policyScenario(node: ContractNode): NodePolicyState {
  const base = node.local.podCIDR.split(".").slice(0, 3).join(".");
  const [first, second] = node.endpointInterfaces as [string, string];
  return {
    ipcache: new Map([
      [`${base}.10`, A],
      [`${base}.11`, B],
      ["100.127.20.10", A],
    ]),
    endpoints: [
      {
        hostIfName: first,
        ip: `${base}.10`,
        ingress: { enforced: true, allow: new Set([`${B}/6/80`, "0/17/53"]), deny: new Set() },
        egress: { enforced: false, allow: new Set(), deny: new Set([`${B}/0/0`]) },
      },
      {
        hostIfName: second,
        ip: `${base}.11`,
        ingress: { enforced: true, allow: new Set([`${A}/0/0`]), deny: new Set() },
        egress: { enforced: true, allow: new Set([`${A}/6/8000-8080`]), deny: new Set() },
      },
    ],
  };
}

const counts = (r: PolicyReconcileReport) => ({ ipcache: r.ipcache, endpoints: r.endpoints, rebuilt: r.rebuilt });

function policyContract(withNode: (title: string, body: (node: ContractNode) => Promise<void>) => void): void {
  withNode("policy: the first reconcile rebuilds and adds everything; the same state again changes nothing", async (node) => {
    const desired = policyScenario(node);
    const first = await node.datapath.reconcilePolicy(desired);
    assert.deepEqual(first.problems, []);
    assert.deepEqual(counts(first), { ipcache: { added: 3, updated: 0, removed: 0 }, endpoints: { added: 2, updated: 0, removed: 0, kept: 0 }, rebuilt: true });
    assert.ok(first.durationMs >= 0);
    const again = await node.datapath.reconcilePolicy(policyScenario(node));
    assert.deepEqual(counts(again), { ipcache: { added: 0, updated: 0, removed: 0 }, endpoints: { added: 0, updated: 0, removed: 0, kept: 2 }, rebuilt: false });
    assert.deepEqual(again.problems, []);
  });

  withNode("policy: changes are counted one by one: an identity change is an update, a changed rule set an endpoint update", async (node) => {
    const desired = policyScenario(node);
    await node.datapath.reconcilePolicy(desired);
    const [first, second] = desired.endpoints as [EndpointPolicyRules, EndpointPolicyRules];
    const ipcache = new Map(desired.ipcache);
    ipcache.set(first.ip, B);
    ipcache.delete("100.127.20.10");
    ipcache.set("100.127.21.10", A);
    const changedRules: EndpointPolicyRules = { ...second, egress: { ...second.egress, enforced: false } };
    const report = await node.datapath.reconcilePolicy({ ipcache, endpoints: [first, changedRules] });
    assert.deepEqual(counts(report), { ipcache: { added: 1, updated: 1, removed: 1 }, endpoints: { added: 0, updated: 1, removed: 0, kept: 1 }, rebuilt: false });
    const third = node.endpointInterfaces[2]!;
    const swapped = await node.datapath.reconcilePolicy({
      ipcache,
      endpoints: [first, { ...changedRules, hostIfName: third }],
    });
    assert.deepEqual(swapped.endpoints, { added: 1, updated: 0, removed: 1, kept: 1 });
    const none = await node.datapath.reconcilePolicy({ ipcache: new Map(), endpoints: [] });
    assert.deepEqual(counts(none), { ipcache: { added: 0, updated: 0, removed: 3 }, endpoints: { added: 0, updated: 0, removed: 2, kept: 0 }, rebuilt: false });
    assert.deepEqual(none.problems, []);
  });

  withNode("policy: the state is taken as it was at the call; changing the caller's objects afterwards is a change", async (node) => {
    const desired = policyScenario(node);
    await node.datapath.reconcilePolicy(desired);
    (desired.endpoints[0]!.ingress.allow as Set<string>).add(`${A}/6/443`);
    (desired.ipcache as Map<string, number>).set("100.127.20.11", B);
    const report = await node.datapath.reconcilePolicy(desired);
    assert.deepEqual(counts(report), { ipcache: { added: 1, updated: 0, removed: 0 }, endpoints: { added: 0, updated: 1, removed: 0, kept: 1 }, rebuilt: false });
  });

  withNode("policy: a new instance, and an instance after teardown, rebuilds on its first reconcile", async (node) => {
    await node.datapath.reconcilePolicy(policyScenario(node));
    const restarted = node.restart();
    const first = await restarted.reconcilePolicy(policyScenario(node));
    assert.deepEqual(counts(first), { ipcache: { added: 3, updated: 0, removed: 0 }, endpoints: { added: 2, updated: 0, removed: 0, kept: 0 }, rebuilt: true });
    assert.deepEqual(first.problems, []);
    await restarted.teardown();
    const afterTeardown = await restarted.reconcilePolicy(policyScenario(node));
    assert.equal(afterTeardown.rebuilt, true);
    assert.equal(afterTeardown.endpoints.added, 2);
  });

  withNode("policy: a malformed state is rejected, naming each field and value, and the applied policy stays", async (node) => {
    const good = policyScenario(node);
    await node.datapath.reconcilePolicy(good);
    const [first, second] = good.endpoints as [EndpointPolicyRules, EndpointPolicyRules];
    const bad: NodePolicyState = {
      ipcache: new Map([
        ["100.127.1.300", A],
        ["100.127.1.12", 2 ** 24],
      ]),
      endpoints: [
        { ...first, ingress: { ...first.ingress, allow: new Set(["65537/6", "16777216/6/80", "1/6/90-80"]) } },
        { ...second, hostIfName: "no spaces" },
        { ...second, ip: "not-an-ip", hostIfName: first.hostIfName, egress: { ...second.egress, enforced: "yes" as never } },
      ],
    };
    await assert.rejects(node.datapath.reconcilePolicy(bad), (e: unknown) => {
      assert.ok(e instanceof DatapathInputError);
      assert.deepEqual(e.issues, [
        'ipcache: "100.127.1.300" is not an IPv4 address (a.b.c.d)',
        'ipcache: identity 16777216 of "100.127.1.12" must be an integer from 0 to 16777215',
        `policy endpoints[0] (${first.hostIfName}) ingress: allow key "65537/6": policy key "65537/6" is not <identity>/<protocol>/<port>[-<endPort>]`,
        `policy endpoints[0] (${first.hostIfName}) ingress: allow key "16777216/6/80" names identity 16777216, above the largest identity 16777215`,
        `policy endpoints[0] (${first.hostIfName}) ingress: allow key "1/6/90-80": policy key end port must be 90-65535 (got 80)`,
        'policy endpoints[1] (no spaces): hostIfName "no spaces" is not an interface name (1-15 characters of A-Z a-z 0-9 _ . @ -)',
        `policy endpoints[2] (${first.hostIfName}): the same hostIfName as policy endpoints[0]; give each endpoint's rules once`,
        `policy endpoints[2] (${first.hostIfName}): ip "not-an-ip" is not an IPv4 address`,
        `policy endpoints[2] (${first.hostIfName}) egress: enforced "yes" must be true or false`,
      ]);
      return true;
    });
    // Nothing changed, so nothing needs rebuilding.
    const same = await node.datapath.reconcilePolicy(policyScenario(node));
    assert.deepEqual(counts(same), { ipcache: { added: 0, updated: 0, removed: 0 }, endpoints: { added: 0, updated: 0, removed: 0, kept: 2 }, rebuilt: false });
  });

  withNode("policy: reconcilePolicy is independent of reconcile, and teardown ends both", async (node) => {
    const desired = scenario(node, "tunnel");
    await node.datapath.reconcile(desired);
    const before = described(await node.installed());
    await node.datapath.reconcilePolicy(policyScenario(node));
    assert.deepEqual(described(await node.installed()), before, "policy adds none of reconcile's objects");
    assert.equal(reportChanged(await node.datapath.reconcile(desired)), false);
    await node.datapath.teardown();
    assert.deepEqual(described(await node.installed()), ["sysctl net.ipv4.ip_forward=1"]);
  });
}
