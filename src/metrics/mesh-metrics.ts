import type { Registry } from "prom-client";
import { collectedCounter, collectedGauge, type Labels, type Samples } from "./registry.js";

/** The four kinds of state a cluster shares with the mesh (src/clustermesh/kinds.ts). */
export type MeshKindName = "nodes" | "endpoints" | "identities" | "services";

const KINDS: readonly MeshKindName[] = ["nodes", "endpoints", "identities", "services"];

/** The `scope` label of each kind: the scope of its key prefix (see scopeOfKey), as Cilium labels them. */
const KIND_SCOPE: Readonly<Record<MeshKindName, string>> = { nodes: "nodes/v1", endpoints: "ip/v1", identities: "identities/v1", services: "services/v1" };

/** What the metrics read of one remote cluster's status (src/clustermesh/status.ts). */
export interface RemoteClusterView {
  readonly name: string;
  readonly ready: boolean;
  readonly failures: number;
  /** ISO 8601. */
  readonly lastFailure?: string;
  readonly counts: Readonly<Record<MeshKindName, number>>;
  readonly synced: Readonly<Record<MeshKindName, boolean>>;
  readonly syncSeconds: Readonly<Partial<Record<MeshKindName, number>>>;
  readonly rejected: Readonly<Record<string, number | undefined>>;
}

export interface MeshView {
  readonly clusters: readonly RemoteClusterView[];
}

/** Where the mesh metrics read from, once the daemon knows who it is. */
export interface MeshSource {
  /** source_cluster (and source_node_name for an agent). */
  readonly labels: Labels;
  status(): MeshView | undefined;
}

export interface MeshMetricNames {
  readonly remoteClusters: string;
  readonly readiness: string;
  readonly failures: string;
  readonly lastFailure: string;
  readonly counts: Readonly<Record<MeshKindName, string>>;
  readonly rejected: string;
  readonly initialSyncCompleted: string;
  readonly initialSyncSeconds: string;
}

export interface MeshMetricsSpec {
  readonly names: MeshMetricNames;
  /** The labels MeshSource.labels carries, in order. */
  readonly sourceLabels: readonly string[];
  /** The `action` label of the initial-sync metrics: the agent reads a peer's state, KVStoreMesh writes it to its cache. */
  readonly syncAction: "read" | "write";
}

/**
 * The remote-cluster metrics the agent (cilium_clustermesh_*) and KVStoreMesh
 * (cilium_kvstoremesh_*) both serve, read from the mesh's status() at scrape time: readiness,
 * failures, last failure, record counts, refused records, and initial sync per kind.
 */
export function registerMeshMetrics(registry: Registry, spec: MeshMetricsSpec, source: () => MeshSource | undefined): void {
  const { names, sourceLabels } = spec;
  const target = [...sourceLabels, "target_cluster"];
  const perCluster = (value: (c: RemoteClusterView) => number) =>
    function* (): Samples {
      const s = source();
      for (const c of s?.status()?.clusters ?? []) yield [{ ...s!.labels, target_cluster: c.name }, value(c)];
    };

  collectedGauge(registry, { name: names.remoteClusters, help: "The number of remote clusters configured (ready or not)", labelNames: sourceLabels }, function* () {
    const s = source();
    const status = s?.status();
    if (s && status) yield [s.labels, status.clusters.length];
  });
  collectedGauge(registry, { name: names.readiness, help: "Whether the remote cluster is ready: connected, its configuration accepted, and all its state synced (1) or not (0)", labelNames: target }, perCluster((c) => (c.ready ? 1 : 0)));
  collectedGauge(registry, { name: names.failures, help: "The number of times the connection to the remote cluster failed or was lost", labelNames: target }, perCluster((c) => c.failures));
  collectedGauge(
    registry,
    { name: names.lastFailure, help: "When the connection to the remote cluster last failed, in seconds since the Unix epoch (0 if it never did)", labelNames: target },
    perCluster((c) => (c.lastFailure ? Date.parse(c.lastFailure) / 1000 : 0)),
  );
  for (const kind of KINDS) {
    collectedGauge(registry, { name: names.counts[kind], help: `The number of ${kind} of the remote cluster in use`, labelNames: target }, perCluster((c) => c.counts[kind]));
  }
  collectedCounter(
    registry,
    { name: names.rejected, help: "Records of the remote cluster refused (malformed, or not the cluster's own), by reason; a record refused again unchanged counts once", labelNames: [...target, "reason"] },
    function* () {
      const s = source();
      for (const c of s?.status()?.clusters ?? []) {
        for (const [reason, n] of Object.entries(c.rejected)) if (n) yield [{ ...s!.labels, target_cluster: c.name, reason }, n];
      }
    },
  );
  // Cilium labels these two by the cluster the state comes from, as source_cluster.
  const perKind = (value: (c: RemoteClusterView, kind: MeshKindName) => number | undefined) =>
    function* (): Samples {
      for (const c of source()?.status()?.clusters ?? []) {
        for (const kind of KINDS) {
          const v = value(c, kind);
          if (v !== undefined) yield [{ scope: KIND_SCOPE[kind], source_cluster: c.name, action: spec.syncAction }, v];
        }
      }
    };
  const syncLabels = ["scope", "source_cluster", "action"];
  collectedGauge(registry, { name: names.initialSyncCompleted, help: "Whether the initial synchronization of the remote cluster's state of this scope has completed (1) or not (0)", labelNames: syncLabels }, perKind((c, k) => (c.synced[k] ? 1 : 0)));
  collectedGauge(
    registry,
    { name: names.initialSyncSeconds, help: "How long the last completed initial synchronization of the remote cluster's state of this scope took, in seconds from the (re)connection", labelNames: syncLabels },
    perKind((c, k) => c.syncSeconds[k]),
  );
}
