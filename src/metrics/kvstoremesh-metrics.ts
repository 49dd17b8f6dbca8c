import type { Registry } from "prom-client";
import { kvstoreOperationsMetric, type KvOperationView } from "./kvstore-metrics.js";
import { registerMeshMetrics, type MeshSource, type MeshView } from "./mesh-metrics.js";
import { createRegistry } from "./registry.js";

/** KVStoreMesh's port, as Cilium's. */
export const KVSTOREMESH_METRICS_ADDR = ":9964";

/**
 * Every metric `trellis kvstoremesh` serves, named as Cilium's KVStoreMesh names them
 * (cilium_kvstoremesh_*), and Trellis's own (trellis_kvstoremesh_*) where Cilium has none.
 */
export class KvStoreMeshMetrics {
  readonly registry: Registry;
  /** Give to the local EtcdStore's `observe` option. */
  readonly observeKvstore: (op: KvOperationView) => void;
  private source: MeshSource | undefined;

  constructor(options: { processMetrics?: boolean } = {}) {
    this.registry = createRegistry(options);
    this.observeKvstore = kvstoreOperationsMetric(this.registry, "cilium_kvstoremesh_kvstore_operations_duration_seconds");
    registerMeshMetrics(
      this.registry,
      {
        names: {
          remoteClusters: "cilium_kvstoremesh_remote_clusters",
          readiness: "cilium_kvstoremesh_remote_cluster_readiness_status",
          failures: "cilium_kvstoremesh_remote_cluster_failures",
          lastFailure: "cilium_kvstoremesh_remote_cluster_last_failure_ts",
          counts: {
            nodes: "trellis_kvstoremesh_remote_cluster_nodes",
            endpoints: "trellis_kvstoremesh_remote_cluster_endpoints",
            identities: "trellis_kvstoremesh_remote_cluster_identities",
            services: "trellis_kvstoremesh_remote_cluster_services",
          },
          rejected: "trellis_kvstoremesh_remote_records_rejected_total",
          initialSyncCompleted: "cilium_kvstoremesh_kvstore_initial_sync_completed",
          initialSyncSeconds: "trellis_kvstoremesh_kvstore_initial_sync_seconds",
        },
        sourceLabels: ["source_cluster"],
        syncAction: "write",
      },
      () => this.source,
    );
  }

  /** Starts reading `mesh`, KVStoreMesh of cluster `cluster`. */
  attach(mesh: { status(): MeshView }, cluster: string): void {
    this.source = { labels: { source_cluster: cluster }, status: () => mesh.status() };
  }
}
