/**
 * How long the Linux datapath takes to reconcile one node with many peers: from scratch, with no
 * change, with one peer added and removed among them, and to tear it all down. The node is a
 * single namespace whose uplink is a veth with a /16 on it, so native routes to every peer's node
 * IP are on-link; no traffic flows, only the kernel tables are programmed.
 */
import { subsystemLogger } from "../../src/log/logger.js";
import { reportChanged } from "../../src/datapath/report.js";
import type { DatapathMode, DesiredNodeState, PeerNode, ReconcileReport } from "../../src/datapath/types.js";
import { LinuxDatapath } from "../../src/datapath/linux/linux-datapath.js";
import { withNamespaces } from "./cleanup.js";

export interface ReconcileTimings {
  readonly peers: number;
  readonly mode: DatapathMode;
  readonly rounds: number;
  /** Objects a reconcile from scratch installs. */
  readonly objects: number;
  /** Medians over the rounds, in milliseconds. */
  readonly scratchMs: number;
  readonly unchangedMs: number;
  readonly addOneMs: number;
  readonly removeOneMs: number;
  readonly teardownMs: number;
}

/** Kernel objects one peer costs: route + FDB + neighbour in tunnel mode, a route in native. */
const OBJECTS_PER_PEER: Record<DatapathMode, number> = { tunnel: 3, native: 1 };

const silent = subsystemLogger("datapath-bench");
silent.level = "silent";

/** Peers spread over four clusters, node IPs in 198.18.1-21.0/24, pod CIDRs from 100.64.0.0/24 up. */
function syntheticPeers(count: number): PeerNode[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `peer-${i}`,
    cluster: `c${1 + (i % 4)}`,
    nodeIP: `198.18.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`,
    podCIDR: `100.${64 + (i >> 8)}.${i & 255}.0/24`,
  }));
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function expect(what: string, ok: boolean, report: ReconcileReport | undefined, detail: string): void {
  if (ok) return;
  const problems = report?.problems.slice(0, 3).map((p) => p.message).join("; ");
  throw new Error(`datapath reconcile bench: ${what}: ${detail}${problems ? ` (problems: ${problems})` : ""}`);
}

export async function measureReconcile(peerCount: number, mode: DatapathMode, rounds: number): Promise<ReconcileTimings> {
  if (!Number.isInteger(peerCount) || peerCount < 1) throw new Error(`peer count must be a positive integer, got ${peerCount}`);
  return withNamespaces(async (fixture) => {
    const ns = await fixture.namespace("reconcile");
    await fixture.ip(ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0-peer");
    await fixture.ip(ns, "address", "add", "198.18.250.11/16", "dev", "eth0");
    await fixture.ip(ns, "link", "set", "dev", "eth0", "up");
    await fixture.ip(ns, "link", "set", "dev", "eth0-peer", "up");
    const all = syntheticPeers(peerCount + 1);
    const local = { name: "bench", cluster: "c0", nodeIP: "198.18.250.11", podCIDR: "100.127.1.0/24", uplink: "eth0" };
    const state = (peers: PeerNode[]): DesiredNodeState => ({ mode, local, peers, endpoints: [] });
    const base = state(all.slice(0, peerCount));
    const plusOne = state(all);
    const perPeer = OBJECTS_PER_PEER[mode];

    const samples = { objects: [] as number[], scratch: [] as number[], unchanged: [] as number[], addOne: [] as number[], removeOne: [] as number[], teardown: [] as number[] };
    for (let round = 0; round < rounds; round++) {
      // A new instance per round, as after an agent restart: the datapath keeps no memory anyway.
      const dp = new LinuxDatapath({ netns: ns, logger: silent });
      const scratch = await dp.reconcile(base);
      expect("from scratch", scratch.problems.length === 0 && scratch.added.length >= peerCount * perPeer, scratch, `added ${scratch.added.length} objects for ${peerCount} peers`);
      const unchanged = await dp.reconcile(base);
      expect("no change", !reportChanged(unchanged) && unchanged.problems.length === 0, unchanged, `changed ${unchanged.added.length + unchanged.updated.length + unchanged.removed.length} objects`);
      const addOne = await dp.reconcile(plusOne);
      expect("+1 peer", addOne.added.length === perPeer && addOne.updated.length + addOne.removed.length === 0, addOne, `added ${addOne.added.length}, expected ${perPeer}`);
      const removeOne = await dp.reconcile(base);
      expect("-1 peer", removeOne.removed.length === perPeer && removeOne.added.length + removeOne.updated.length === 0, removeOne, `removed ${removeOne.removed.length}, expected ${perPeer}`);
      const teardown = await dp.teardown();
      expect("teardown", teardown.removed.length >= peerCount * perPeer, undefined, `removed ${teardown.removed.length} objects`);
      samples.objects.push(scratch.added.length + scratch.updated.length);
      samples.scratch.push(scratch.durationMs);
      samples.unchanged.push(unchanged.durationMs);
      samples.addOne.push(addOne.durationMs);
      samples.removeOne.push(removeOne.durationMs);
      samples.teardown.push(teardown.durationMs);
    }
    return {
      peers: peerCount,
      mode,
      rounds,
      objects: median(samples.objects),
      scratchMs: median(samples.scratch),
      unchangedMs: median(samples.unchanged),
      addOneMs: median(samples.addOne),
      removeOneMs: median(samples.removeOne),
      teardownMs: median(samples.teardown),
    };
  });
}

export function reconcileMarkdown(rows: readonly ReconcileTimings[]): string {
  const ms = (x: number) => x.toFixed(1);
  const rounds = [...new Set(rows.map((r) => r.rounds))].join("/");
  return [
    `Reconcile of one node namespace, median of ${rounds} rounds, in ms. "objects" is what a reconcile from scratch`,
    "installs (per peer a route, an FDB entry and a neighbour in tunnel mode, a route in native mode, plus the",
    "sysctls and, in tunnel mode, the VXLAN device). Each round uses a new `LinuxDatapath`, which reads the kernel",
    "rather than remembering; \"no change\" is therefore the cost of reading and comparing everything.",
    "",
    "| peers | mode | objects | from scratch | no change | +1 peer | -1 peer | teardown |",
    "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map((t) => `| ${t.peers} | ${t.mode} | ${t.objects} | ${ms(t.scratchMs)} | ${ms(t.unchangedMs)} | ${ms(t.addOneMs)} | ${ms(t.removeOneMs)} | ${ms(t.teardownMs)} |`),
  ].join("\n");
}
