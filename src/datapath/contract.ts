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
import type { Datapath, DatapathMode, DatapathObject, DesiredNodeState, LocalNode, PeerNode, ReconcileReport } from "./types.js";

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
  });
}
