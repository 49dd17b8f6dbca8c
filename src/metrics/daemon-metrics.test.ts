import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AgentMetrics, type AgentView } from "./agent-metrics.js";
import type { ReconcileView } from "./datapath-metrics.js";
import type { HealthReportView } from "./health-metrics.js";
import { KvStoreMeshMetrics } from "./kvstoremesh-metrics.js";
import type { MeshView, RemoteClusterView } from "./mesh-metrics.js";
import { OperatorMetrics } from "./operator-metrics.js";
import { parseExposition, samplesOf, valueOf, type Sample } from "./testing/exposition.js";

const all = <T>(v: T) => ({ nodes: v, endpoints: v, identities: v, services: v });

const ready: RemoteClusterView = {
  name: "cluster-2",
  ready: true,
  failures: 0,
  counts: { nodes: 3, endpoints: 7, identities: 2, services: 1 },
  synced: all(true),
  syncSeconds: { nodes: 0.25, endpoints: 0.5, identities: 0.125, services: 1 },
  rejected: {},
};
const down: RemoteClusterView = {
  name: "cluster-3",
  ready: false,
  failures: 4,
  lastFailure: "2026-01-02T03:04:05.500Z",
  counts: { nodes: 1, endpoints: 0, identities: 0, services: 0 },
  synced: { ...all(false), nodes: true },
  syncSeconds: { nodes: 2 },
  rejected: { "malformed-json": 2, "cluster-mismatch": 1 },
};

class FakeAgent implements AgentView {
  readonly options = { nodeName: "node-1" };
  readonly settings = { name: "cluster-1" };
  mesh: { status(): MeshView | undefined } | undefined;
  health: { latest(): HealthReportView | undefined } | undefined;
  private readonly listeners: ((r: ReconcileView) => void)[] = [];
  readonly controller = { onReconcile: (l: (r: ReconcileView) => void) => void this.listeners.push(l) };
  reconcile(r: ReconcileView): void {
    for (const l of this.listeners) l(r);
  }
}

async function samplesOfRegistry(m: { registry: { metrics(): Promise<string> } }): Promise<Sample[]> {
  return parseExposition(await m.registry.metrics());
}

describe("AgentMetrics", () => {
  test("remote clusters: readiness, failures, last failure, counts, refused records and initial sync, labelled as Cilium's", async () => {
    const metrics = new AgentMetrics();
    const agent = new FakeAgent();
    assert.deepEqual(samplesOf(await samplesOfRegistry(metrics), "cilium_clustermesh_remote_clusters"), [], "nothing to say before the agent is attached");

    metrics.attach(agent);
    agent.mesh = { status: () => ({ clusters: [ready, down] }) };
    const s = await samplesOfRegistry(metrics);
    const src = { source_cluster: "cluster-1", source_node_name: "node-1" };
    assert.equal(valueOf(s, "cilium_clustermesh_remote_clusters", src), 2);
    assert.equal(valueOf(s, "cilium_clustermesh_remote_cluster_readiness_status", { ...src, target_cluster: "cluster-2" }), 1);
    assert.equal(valueOf(s, "cilium_clustermesh_remote_cluster_readiness_status", { ...src, target_cluster: "cluster-3" }), 0);
    assert.equal(valueOf(s, "cilium_clustermesh_remote_cluster_failures", { target_cluster: "cluster-3" }), 4);
    assert.equal(valueOf(s, "cilium_clustermesh_remote_cluster_last_failure_ts", { target_cluster: "cluster-3" }), Date.parse("2026-01-02T03:04:05.500Z") / 1000);
    assert.equal(valueOf(s, "cilium_clustermesh_remote_cluster_last_failure_ts", { target_cluster: "cluster-2" }), 0, "0 when it never failed");
    assert.equal(valueOf(s, "cilium_clustermesh_remote_cluster_nodes", { target_cluster: "cluster-2" }), 3);
    assert.equal(valueOf(s, "cilium_clustermesh_remote_cluster_endpoints", { target_cluster: "cluster-2" }), 7);
    assert.equal(valueOf(s, "trellis_clustermesh_remote_cluster_identities", { target_cluster: "cluster-2" }), 2);
    assert.equal(valueOf(s, "trellis_clustermesh_remote_cluster_services", { target_cluster: "cluster-2" }), 1);
    assert.deepEqual(
      samplesOf(s, "trellis_clustermesh_remote_records_rejected_total").map((x) => [x.labels.target_cluster, x.labels.reason, x.value]),
      [["cluster-3", "malformed-json", 2], ["cluster-3", "cluster-mismatch", 1]],
    );
    // Cilium names the cluster the state comes from source_cluster here.
    assert.equal(valueOf(s, "cilium_kvstore_initial_sync_completed", { scope: "nodes/v1", source_cluster: "cluster-3", action: "read" }), 1);
    assert.equal(valueOf(s, "cilium_kvstore_initial_sync_completed", { scope: "ip/v1", source_cluster: "cluster-3", action: "read" }), 0);
    assert.equal(valueOf(s, "trellis_kvstore_initial_sync_seconds", { scope: "services/v1", source_cluster: "cluster-2" }), 1);
    assert.equal(valueOf(s, "trellis_kvstore_initial_sync_seconds", { scope: "ip/v1", source_cluster: "cluster-3" }), undefined, "no time before the first sync");

    agent.mesh = { status: () => ({ clusters: [ready] }) };
    const after = await samplesOfRegistry(metrics);
    assert.equal(valueOf(after, "cilium_clustermesh_remote_clusters"), 1);
    assert.deepEqual(samplesOf(after, "cilium_clustermesh_remote_cluster_readiness_status", { target_cluster: "cluster-3" }), [], "a cluster that left the mesh leaves no series behind");
  });

  test("datapath reconciles: durations by outcome, and errors", async () => {
    const metrics = new AgentMetrics();
    const agent = new FakeAgent();
    assert.equal(valueOf(await samplesOfRegistry(metrics), "trellis_datapath_reconcile_errors_total"), 0, "present before the first error");
    metrics.attach(agent);
    agent.reconcile({ seconds: 0.02, ok: true });
    agent.reconcile({ seconds: 0.03, ok: true });
    agent.reconcile({ seconds: 3, ok: false });
    const s = await samplesOfRegistry(metrics);
    assert.equal(valueOf(s, "trellis_datapath_reconcile_duration_seconds_count", { outcome: "success" }), 2);
    assert.equal(valueOf(s, "trellis_datapath_reconcile_duration_seconds_bucket", { outcome: "success", le: "0.025" }), 1);
    assert.equal(valueOf(s, "trellis_datapath_reconcile_duration_seconds_count", { outcome: "fail" }), 1);
    assert.equal(valueOf(s, "trellis_datapath_reconcile_errors_total"), 1);

    // After the agent restarts in the same process, only the new agent's reconciles count.
    const restarted = new FakeAgent();
    metrics.attach(restarted);
    agent.reconcile({ seconds: 1, ok: false });
    restarted.reconcile({ seconds: 0.01, ok: true });
    const s2 = await samplesOfRegistry(metrics);
    assert.equal(valueOf(s2, "trellis_datapath_reconcile_errors_total"), 1);
    assert.equal(valueOf(s2, "trellis_datapath_reconcile_duration_seconds_count", { outcome: "success" }), 3);
  });

  test("health: reachability of nodes and health endpoints from the last round, and round-trip times", async () => {
    const metrics = new AgentMetrics();
    const agent = new FakeAgent();
    const ok = (rttMs: number) => ({ ok: true, rttMs });
    const report: HealthReportView = {
      nodes: [
        { host: { icmp: ok(0.2), http: ok(0.8) }, endpoint: { icmp: ok(0.3), http: ok(1.5) } },
        { host: { icmp: ok(0.4), http: { ok: false } }, endpoint: { icmp: { ok: false }, http: { ok: false } } },
        { host: { icmp: ok(0.1), http: ok(0.6) } },
      ],
    };
    metrics.observeHealth(report);
    assert.deepEqual(samplesOf(await samplesOfRegistry(metrics), "cilium_node_health_connectivity_latency_seconds_count"), [], "a round before attach has no source to label it with");
    metrics.attach(agent);
    agent.health = { latest: () => report };
    metrics.observeHealth(report);
    const s = await samplesOfRegistry(metrics);
    const src = { source_cluster: "cluster-1", source_node_name: "node-1" };
    assert.equal(valueOf(s, "cilium_node_health_connectivity_status", { ...src, type: "node", status: "reachable" }), 2);
    assert.equal(valueOf(s, "cilium_node_health_connectivity_status", { ...src, type: "node", status: "unreachable" }), 1);
    assert.equal(valueOf(s, "cilium_node_health_connectivity_status", { ...src, type: "node", status: "unknown" }), 0);
    assert.equal(valueOf(s, "cilium_node_health_connectivity_status", { ...src, type: "endpoint", status: "reachable" }), 1);
    assert.equal(valueOf(s, "cilium_node_health_connectivity_status", { ...src, type: "endpoint", status: "unreachable" }), 1);
    assert.equal(valueOf(s, "cilium_node_health_connectivity_status", { ...src, type: "endpoint", status: "unknown" }), 1, "a node without a health endpoint");
    const latency = "cilium_node_health_connectivity_latency_seconds";
    assert.equal(valueOf(s, `${latency}_count`, { ...src, type: "node", protocol: "icmp", address_type: "primary" }), 3);
    assert.equal(valueOf(s, `${latency}_count`, { type: "node", protocol: "http" }), 2, "failed probes have no round-trip time");
    assert.equal(valueOf(s, `${latency}_count`, { type: "endpoint", protocol: "http" }), 1);
    assert.equal(valueOf(s, `${latency}_bucket`, { type: "endpoint", protocol: "http", le: "0.001" }), 0);
    assert.equal(valueOf(s, `${latency}_bucket`, { type: "endpoint", protocol: "http", le: "0.0025" }), 1);
  });
});

describe("KvStoreMeshMetrics", () => {
  test("Cilium's KVStoreMesh names: labelled by the local cluster only, and the cache is written", async () => {
    const metrics = new KvStoreMeshMetrics();
    metrics.attach({ status: () => ({ clusters: [ready, down] }) }, "cluster-1");
    metrics.observeKvstore({ kind: "put", key: "cilium/cache/nodes/v1/cluster-2/node-1", seconds: 0.001, ok: true });
    const s = await samplesOfRegistry(metrics);
    assert.deepEqual(samplesOf(s, "cilium_kvstoremesh_remote_cluster_readiness_status").map((x) => [x.labels, x.value]), [
      [{ source_cluster: "cluster-1", target_cluster: "cluster-2" }, 1],
      [{ source_cluster: "cluster-1", target_cluster: "cluster-3" }, 0],
    ]);
    assert.equal(valueOf(s, "cilium_kvstoremesh_remote_clusters", { source_cluster: "cluster-1" }), 2);
    assert.equal(valueOf(s, "cilium_kvstoremesh_remote_cluster_failures", { target_cluster: "cluster-3" }), 4);
    assert.equal(valueOf(s, "trellis_kvstoremesh_remote_cluster_nodes", { target_cluster: "cluster-2" }), 3);
    assert.equal(valueOf(s, "trellis_kvstoremesh_remote_records_rejected_total", { target_cluster: "cluster-3", reason: "cluster-mismatch" }), 1);
    assert.equal(valueOf(s, "cilium_kvstoremesh_kvstore_initial_sync_completed", { scope: "identities/v1", source_cluster: "cluster-2", action: "write" }), 1);
    assert.equal(valueOf(s, "cilium_kvstoremesh_kvstore_operations_duration_seconds_count", { scope: "nodes/v1", kind: "put" }), 1);
    assert.deepEqual(samplesOf(s, "cilium_clustermesh_remote_clusters"), [], "none of the agent's names");
  });
});

describe("OperatorMetrics", () => {
  test("reconcile passes and kvstore operations", async () => {
    const metrics = new OperatorMetrics();
    const operator = { reconciles: 0 };
    metrics.attach(operator);
    operator.reconciles = 5;
    metrics.observeKvstore({ kind: "txn", key: "trellis/pods/default/web-1", seconds: 0.003, ok: true });
    const s = await samplesOfRegistry(metrics);
    assert.equal(valueOf(s, "trellis_operator_reconciles_total"), 5);
    assert.equal(valueOf(s, "cilium_kvstore_operations_duration_seconds_count", { scope: "trellis/pods", kind: "txn", action: "set" }), 1);
  });
});
