/**
 * Two nodes on a fabric bridge, three pods wired as the CNI plugin does (docs/agent-api.md) and
 * each node programmed by its own LinuxDatapath: two pods on node 1 (the same-node pair) and one
 * on node 2 (across nodes from the first).
 */
import { subsystemLogger } from "../../src/log/logger.js";
import { podMtu } from "../../src/datapath/mtu.js";
import type { DatapathMode } from "../../src/datapath/types.js";
import { LinuxDatapath } from "../../src/datapath/linux/linux-datapath.js";
import { waitFor, type NetnsFixture } from "../../src/datapath/linux/netns-fixture.js";
import { TestTopology, type TestPod } from "../../src/datapath/linux/test-topology.js";

export interface PodLab {
  readonly mode: DatapathMode;
  readonly topology: TestTopology;
  readonly podMtu: number;
  /** Pod on node 1 that sends. */
  readonly client: TestPod;
  /** Second pod on node 1. */
  readonly sameNode: TestPod;
  /** Pod on node 2. */
  readonly otherNode: TestPod;
}

const UNDERLAY_MTU = 1500;

const silent = subsystemLogger("datapath-bench");
silent.level = "silent";

export async function buildPodLab(fixture: NetnsFixture, mode: DatapathMode): Promise<PodLab> {
  const topology = await TestTopology.create(fixture, 2, UNDERLAY_MTU);
  const node1 = topology.nodes[0]!;
  const node2 = topology.nodes[1]!;
  const client = await topology.addPod(node1, 10, mode);
  const sameNode = await topology.addPod(node1, 11, mode);
  const otherNode = await topology.addPod(node2, 10, mode);
  for (const node of topology.nodes) {
    const report = await new LinuxDatapath({ netns: node.netns, logger: silent }).reconcile(topology.desired(node, mode));
    if (report.problems.length) {
      throw new Error(`datapath bench: ${mode} reconcile of ${node.local.name} had problems: ${report.problems.map((p) => p.message).join("; ")}`);
    }
  }
  for (const to of [sameNode, otherNode]) {
    await waitFor(`${mode} mode: pod ${client.ip} to reach pod ${to.ip}`, () => topology.ping(client, to.ip), 10_000);
  }
  return { mode, topology, podMtu: podMtu(mode, UNDERLAY_MTU), client, sameNode, otherNode };
}
