import type { Registry } from "prom-client";
import { registerDatapathMetrics, type ReconcileView } from "./datapath-metrics.js";
import { registerHealthMetrics, type HealthReportView, type HealthSource } from "./health-metrics.js";
import { kvstoreOperationsMetric, type KvOperationView } from "./kvstore-metrics.js";
import { registerMeshMetrics, type MeshSource, type MeshView } from "./mesh-metrics.js";
import { createRegistry } from "./registry.js";

/** What the agent's metrics read of the agent (src/agent/agent.ts); the agent fits it as it is. */
export interface AgentView {
  readonly options: { readonly nodeName: string };
  readonly settings: { readonly name: string };
  readonly mesh?: { status(): MeshView | undefined };
  readonly health?: { latest(): HealthReportView | undefined };
  readonly controller: { onReconcile(listener: (r: ReconcileView) => void): void };
}

/** The agent's port, as Cilium's (`--prometheus-serve-addr`). */
export const AGENT_METRICS_ADDR = ":9962";

/**
 * Every metric `trellis agent` serves, on a registry of its own. The kvstore observer goes to the
 * agent's etcd clients when they are made; `attach` is called by the agent once it knows its
 * cluster and has its datapath controller; the rest is read from the agent at scrape time.
 */
export class AgentMetrics {
  readonly registry: Registry;
  /** Give to EtcdStore's `observe` option. */
  readonly observeKvstore: (op: KvOperationView) => void;
  private readonly observeReconcile: (r: ReconcileView) => void;
  private readonly recordHealth: (report: HealthReportView, labels: Record<string, string>) => void;
  private agent: AgentView | undefined;

  constructor(options: { processMetrics?: boolean } = {}) {
    this.registry = createRegistry(options);
    this.observeKvstore = kvstoreOperationsMetric(this.registry, "cilium_kvstore_operations_duration_seconds");
    registerMeshMetrics(
      this.registry,
      {
        names: {
          remoteClusters: "cilium_clustermesh_remote_clusters",
          readiness: "cilium_clustermesh_remote_cluster_readiness_status",
          failures: "cilium_clustermesh_remote_cluster_failures",
          lastFailure: "cilium_clustermesh_remote_cluster_last_failure_ts",
          counts: {
            nodes: "cilium_clustermesh_remote_cluster_nodes",
            endpoints: "cilium_clustermesh_remote_cluster_endpoints",
            identities: "trellis_clustermesh_remote_cluster_identities",
            services: "trellis_clustermesh_remote_cluster_services",
          },
          rejected: "trellis_clustermesh_remote_records_rejected_total",
          initialSyncCompleted: "cilium_kvstore_initial_sync_completed",
          initialSyncSeconds: "trellis_kvstore_initial_sync_seconds",
        },
        sourceLabels: ["source_cluster", "source_node_name"],
        syncAction: "read",
      },
      () => this.meshSource(),
    );
    this.observeReconcile = registerDatapathMetrics(this.registry, { duration: "trellis_datapath_reconcile_duration_seconds", errors: "trellis_datapath_reconcile_errors_total" });
    this.recordHealth = registerHealthMetrics(
      this.registry,
      { status: "cilium_node_health_connectivity_status", latency: "cilium_node_health_connectivity_latency_seconds" },
      () => this.healthSource(),
    );
  }

  /** Starts reading `agent` (again, after a restart of the agent in the same process). */
  attach(agent: AgentView): void {
    this.agent = agent;
    agent.controller.onReconcile((r) => {
      if (this.agent === agent) this.observeReconcile(r);
    });
  }

  /** Records a finished health probe round. */
  observeHealth(report: HealthReportView): void {
    const labels = this.sourceLabels();
    if (labels) this.recordHealth(report, labels);
  }

  private sourceLabels(): Record<string, string> | undefined {
    const agent = this.agent;
    return agent ? { source_cluster: agent.settings.name, source_node_name: agent.options.nodeName } : undefined;
  }

  private meshSource(): MeshSource | undefined {
    const agent = this.agent;
    const labels = this.sourceLabels();
    // `mesh` exists only once the agent's start() has made it.
    return agent && labels ? { labels, status: () => agent.mesh?.status() } : undefined;
  }

  private healthSource(): HealthSource | undefined {
    const agent = this.agent;
    const labels = this.sourceLabels();
    return agent && labels ? { labels, latest: () => agent.health?.latest() } : undefined;
  }
}
