import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatHealthStatus, nodeIsHealthy, outcomeText } from "./status-format.js";
import type { HealthReport, PathResult, TargetResult } from "./types.js";

const PROBED = "2024-05-01T10:00:00.123Z";

function ok(ip: string, icmpMs: number, httpMs: number): PathResult {
  return { ip, icmp: { ok: true, rttMs: icmpMs }, http: { ok: true, rttMs: httpMs } };
}

function node(cluster: string, name: string, host: PathResult, endpoint?: PathResult, local = false): TargetResult {
  return { cluster, node: name, local, host, ...(endpoint ? { endpoint } : {}), lastProbed: PROBED };
}

function report(nodes: TargetResult[]): HealthReport {
  return { probeTime: PROBED, durationMs: 12, intervalMs: 60_000, nodes };
}

/** Seed 002's two nodes with its RTTs, under Trellis's node and pod addresses. */
const seedNodes = [
  node("cluster-2", "node-1", ok("198.18.2.11", 1.659939, 2.932125), ok("100.66.0.2", 1.6367, 4.215347)),
  node("cluster-1", "node-1", ok("198.18.1.11", 0.585908, 0.386343), ok("100.65.0.2", 0.563934, 0.684559), true),
];

const TIMEOUT_4240 = 'Get "http://198.18.2.13:4240/hello": context deadline exceeded (Client.Timeout exceeded while awaiting headers)';

const failingNodes = [
  ...seedNodes,
  node(
    "cluster-2",
    "node-3",
    { ip: "198.18.2.13", icmp: { ok: true, rttMs: 0.7 }, http: { ok: false, error: TIMEOUT_4240 } },
    ok("100.66.2.2", 0.9, 1.2),
  ),
  node("cluster-2", "node-2", {
    ip: "198.18.2.12",
    icmp: { ok: false, error: "Connection timed out" },
    http: { ok: false, error: 'Get "http://198.18.2.12:4240/hello": dial tcp 198.18.2.12:4240: connect: no route to host' },
  }),
];

describe("health status text", () => {
  test("verbose lists every node in seed 002's layout, the local node first", () => {
    assert.equal(
      formatHealthStatus(report(seedNodes), { verbose: true }),
      `Cluster health:   2/2 reachable
Probe time:   2024-05-01T10:00:00Z
Nodes:
  cluster-1/node-1 (localhost):
    Host connectivity to 198.18.1.11:
      ICMP to stack:   OK, RTT=585.908µs
      HTTP to agent:   OK, RTT=386.343µs
    Endpoint connectivity to 100.65.0.2:
      ICMP to stack:   OK, RTT=563.934µs
      HTTP to agent:   OK, RTT=684.559µs
  cluster-2/node-1:
    Host connectivity to 198.18.2.11:
      ICMP to stack:   OK, RTT=1.659939ms
      HTTP to agent:   OK, RTT=2.932125ms
    Endpoint connectivity to 100.66.0.2:
      ICMP to stack:   OK, RTT=1.6367ms
      HTTP to agent:   OK, RTT=4.215347ms
`,
    );
  });

  test("without verbose, a healthy mesh prints only the header", () => {
    assert.equal(formatHealthStatus(report(seedNodes)), "Cluster health:   2/2 reachable\nProbe time:   2024-05-01T10:00:00Z\n");
  });

  test("without verbose, only failing nodes are listed, each failure naming its error, with hints", () => {
    assert.equal(
      formatHealthStatus(report(failingNodes)),
      `Cluster health:   2/4 reachable
Probe time:   2024-05-01T10:00:00Z
Nodes:
  cluster-2/node-2:
    Host connectivity to 198.18.2.12:
      ICMP to stack:   Connection timed out
      HTTP to agent:   Get "http://198.18.2.12:4240/hello": dial tcp 198.18.2.12:4240: connect: no route to host
  cluster-2/node-3:
    Host connectivity to 198.18.2.13:
      ICMP to stack:   OK, RTT=700µs
      HTTP to agent:   ${TIMEOUT_4240}
    Endpoint connectivity to 100.66.2.2:
      ICMP to stack:   OK, RTT=900µs
      HTTP to agent:   OK, RTT=1.2ms
Hints:
  cluster-2/node-2: 198.18.2.12 answers neither ICMP nor HTTP: the node is down, or the underlay does not reach it
  cluster-2/node-3: ICMP to 198.18.2.13 works but HTTP to 198.18.2.13:4240 does not: TCP 4240 may be blocked between the nodes
`,
    );
  });

  test("hints can be left out", () => {
    assert.ok(!formatHealthStatus(report(failingNodes), { hints: false }).includes("Hints:"));
  });

  test("verbose writes 'Endpoint connectivity: nil' for a node without a health endpoint, aligned as Go's tabwriter aligns it", () => {
    const text = formatHealthStatus(report([node("cluster-1", "node-9", ok("198.18.1.19", 0.25, 0.5))]), { verbose: true });
    assert.equal(
      text,
      `Cluster health:   1/1 reachable
Probe time:   2024-05-01T10:00:00Z
Nodes:
  cluster-1/node-9:
    Host connectivity to 198.18.1.19:
      ICMP to stack:         OK, RTT=250µs
      HTTP to agent:         OK, RTT=500µs
    Endpoint connectivity:   nil
`,
    );
  });

  test("remote nodes sort by name in byte order, as Go's strings.Compare does", () => {
    const nodes = ["b/n", "a/z", "A/x", "a/a"].map((n) => {
      const [c, name] = n.split("/") as [string, string];
      return node(c, name, ok("198.18.9.9", 1, 1));
    });
    const order = [...formatHealthStatus(report(nodes), { verbose: true }).matchAll(/^ {2}(\S+):$/gm)].map((m) => m[1]);
    assert.deepEqual(order, ["A/x", "a/a", "a/z", "b/n"]);
  });

  test("a node is healthy only when every probe of its IP and of its endpoint succeeded", () => {
    assert.equal(nodeIsHealthy(seedNodes[0]!), true);
    assert.equal(nodeIsHealthy(failingNodes[2]!), false);
    assert.equal(nodeIsHealthy(node("c", "n", ok("198.18.1.1", 1, 1), { ip: "100.65.0.2", icmp: { ok: false, error: "x" }, http: { ok: true, rttMs: 1 } })), false);
    assert.equal(outcomeText({ ok: false }), "failed");
  });
});
