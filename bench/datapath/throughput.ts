/**
 * Pod-to-pod TCP throughput on one node and across two, in one datapath mode. Same-node and
 * cross-node runs alternate, so a burst of load from elsewhere on the machine does not land on
 * one side of the ratio only.
 */
import { fmt } from "../section.js";
import type { DatapathMode } from "../../src/datapath/types.js";
import { tcpThroughput, type TcpRun } from "./iperf.js";
import type { PodLab } from "./pod-lab.js";

export interface ModeThroughput {
  readonly mode: DatapathMode;
  readonly podMtu: number;
  readonly seconds: number;
  readonly sameNode: readonly TcpRun[];
  readonly crossNode: readonly TcpRun[];
}

export async function measurePodThroughput(lab: PodLab, seconds: number, repetitions: number): Promise<ModeThroughput> {
  const sameNode: TcpRun[] = [];
  const crossNode: TcpRun[] = [];
  for (let i = 0; i < repetitions; i++) {
    const order = i % 2 === 0 ? (["same", "cross"] as const) : (["cross", "same"] as const);
    for (const which of order) {
      if (which === "same") sameNode.push(await tcpThroughput(lab.client, lab.sameNode, seconds));
      else crossNode.push(await tcpThroughput(lab.client, lab.otherNode, seconds));
    }
  }
  return { mode: lab.mode, podMtu: lab.podMtu, seconds, sameNode, crossNode };
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export function medianGbps(runs: readonly TcpRun[]): number {
  return median(runs.map((r) => r.gbps));
}

function gbpsCell(runs: readonly TcpRun[]): string {
  const g = runs.map((r) => r.gbps);
  return runs.length > 1 ? `${fmt(median(g))} (${fmt(Math.min(...g))}–${fmt(Math.max(...g))})` : fmt(g[0]!);
}

export function crossToSameRatio(t: ModeThroughput): number {
  return medianGbps(t.crossNode) / medianGbps(t.sameNode);
}

export function throughputMarkdown(rows: readonly ModeThroughput[]): string {
  const runs = rows[0]?.sameNode.length ?? 0;
  const seconds = rows[0]?.seconds ?? 0;
  const retrans = (rs: readonly TcpRun[]) => rs.reduce((n, r) => n + r.retransmits, 0);
  return [
    `One TCP stream, \`iperf3 -c <pod IP> -t ${seconds} -J\` from a pod on node 1 to \`iperf3 -s -1\` in the other pod's`,
    `namespace; ${runs} run${runs === 1 ? "" : "s"} each${runs > 1 ? ", median (min–max)" : ""}, Gbit/s received. Same-node traffic goes pod → node 1 → pod;`,
    "cross-node traffic also crosses two veths and the fabric bridge, wrapped in VXLAN in tunnel mode.",
    "",
    "| mode | pod MTU | same node | across nodes | across / same | retransmits (same / across, all runs) |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map(
      (t) =>
        `| ${t.mode} | ${t.podMtu} | ${gbpsCell(t.sameNode)} | ${gbpsCell(t.crossNode)} | ${fmt(crossToSameRatio(t))} | ${retrans(t.sameNode)} / ${retrans(t.crossNode)} |`,
    ),
  ].join("\n");
}
