import type { RecordErrorReason } from "../state/index.js";
import type { PerKind } from "./kinds.js";

/** How many remote records were refused, by reason (a record refused again unchanged is not counted twice). */
export type RejectionCounts = Partial<Record<RecordErrorReason, number>>;

/**
 * One remote cluster as a consumer of its state sees it (Cilium's `clustermesh status` per remote
 * cluster). Ready means connected, cluster config retrieved and accepted, and all four kinds synced.
 */
export interface RemoteClusterStatus {
  readonly name: string;
  /** From the cluster's config, once read (also when the config was refused). */
  readonly clusterId?: number;
  /** The store answered the last request. */
  readonly connected: boolean;
  readonly ready: boolean;
  /** State from an earlier connection is still in use and not yet confirmed by the current one. */
  readonly stale: boolean;
  readonly configured: true;
  readonly synced: PerKind<boolean>;
  readonly counts: PerKind<number>;
  /** Connection attempts after the first one. */
  readonly reconnections: number;
  /** Connections that failed or were lost. */
  readonly failures: number;
  /** When the connection last failed (ISO 8601). */
  readonly lastFailure?: string;
  readonly lastError?: string;
  readonly rejected: RejectionCounts;
  /**
   * Per kind, how long the last complete initial sync took, in seconds: from the start of the
   * session that completed it until the kind was synced.
   */
  readonly syncSeconds: Partial<PerKind<number>>;
  /** Read from the remote cluster's own etcd, or from the KVStoreMesh cache in the local etcd. */
  readonly mode: "direct" | "cache";
  /** Why the cluster's state is not used (its config is invalid, does not fit ours, or its ID clashes). */
  readonly notUsedReason?: string;
}

/**
 * One remote cluster as KVStoreMesh reflects it into the local etcd. `counts` are the keys held in
 * the local cache; a kind is synced once its cache canary is written.
 */
export type ReflectorStatus = RemoteClusterStatus & { readonly mode: "direct" };

/** A peer entry of the mesh configuration that could not be used. */
export interface PeerProblem {
  /** The peer's name as given ("" when the whole configuration is at fault). */
  readonly peer: string;
  readonly message: string;
}

export interface MeshStatus<S extends RemoteClusterStatus> {
  /** Sorted by name. */
  readonly clusters: readonly S[];
  readonly ready: number;
  readonly total: number;
  /** "N/M remote clusters ready", as Cilium prints it. */
  readonly summary: string;
  /** Peer configurations that were skipped, and why. */
  readonly problems: readonly PeerProblem[];
  /** Peers left out because they name the local cluster. */
  readonly ignored: readonly string[];
}

export type ClusterMeshStatus = MeshStatus<RemoteClusterStatus>;
export type KvStoreMeshStatus = MeshStatus<ReflectorStatus>;

export function meshSummary(ready: number, total: number): string {
  return `${ready}/${total} remote clusters ready`;
}
