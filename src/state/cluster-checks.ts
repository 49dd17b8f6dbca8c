import { clusterNameProblem, identityRangeOf, MAX_GLOBAL_IDENTITY, MINIMAL_NUMERIC_IDENTITY, type ClusterInfo } from "../cluster/index.js";
import { reject, type Where } from "./go-json.js";
import { describeValue } from "./record-error.js";

/**
 * Checks that tie a record to the cluster it was read from. A remote cluster is trusted to speak
 * for itself only: its records must carry its own name and ID, and its identities must come from
 * its own slice of the identity space, or one cluster could impersonate another's workloads.
 */

/** A cluster name taken from a key (or a record) must be a valid cluster name. */
export function checkClusterName(where: Where, cluster: string, field: string | undefined, what = "cluster name"): void {
  const why = clusterNameProblem(cluster);
  if (why !== undefined) reject(where, "invalid-name", field, `${what} ${describeValue(cluster)} is invalid: ${why}`);
}

/** The record (or its key) names `cluster`; it must be the cluster it was read from. */
export function checkSameCluster(where: Where, source: ClusterInfo | undefined, cluster: string, field: string | undefined): void {
  if (source !== undefined && cluster !== source.name) {
    reject(where, "cluster-mismatch", field, `names cluster ${describeValue(cluster)}, but was read from cluster ${describeValue(source.name)}`);
  }
}

/** The record carries a cluster ID; it must be the ID of the cluster it was read from. */
export function checkSameClusterId(where: Where, source: ClusterInfo | undefined, clusterId: number, field: string): void {
  if (source !== undefined && clusterId !== source.id) {
    reject(where, "cluster-mismatch", field, `is cluster ID ${clusterId}, but the record was read from cluster ${describeValue(source.name)} whose ID is ${source.id}`);
  }
}

/**
 * An identity allocated by `source` (an identity key): it must lie in that cluster's range.
 * Without a source it must at least be an allocatable global identity (256..2^24-1).
 */
export function checkAllocatedIdentity(where: Where, source: ClusterInfo | undefined, id: number, field: string | undefined): void {
  if (source === undefined) {
    if (id < MINIMAL_NUMERIC_IDENTITY || id > MAX_GLOBAL_IDENTITY) {
      reject(where, "identity-out-of-range", field, `identity ${id} is not an allocatable global identity (${MINIMAL_NUMERIC_IDENTITY}..${MAX_GLOBAL_IDENTITY})`);
    }
    return;
  }
  const { first, last } = rangeOf(source);
  if (id < first || id > last) {
    reject(where, "identity-out-of-range", field, `identity ${id} is outside the range of cluster ${describeValue(source.name)} (ID ${source.id}: ${first}..${last})`);
  }
}

// Decoders check thousands of records against the same few clusters.
const ranges = new WeakMap<ClusterInfo, { readonly first: number; readonly last: number }>();

function rangeOf(source: ClusterInfo): { readonly first: number; readonly last: number } {
  let range = ranges.get(source);
  if (range === undefined) {
    range = identityRangeOf(source.id, source.maxConnectedClusters);
    ranges.set(source, range);
  }
  return range;
}

/**
 * An identity an ipcache entry points at. Reserved numbers (below 256) are accepted from any
 * cluster, as Cilium does: they mean the same everywhere (a peer's node IPs are published as
 * host or remote-node) and are not allocated by anyone. Any other number must lie in the source
 * cluster's range. Numbers of 2^24 and up are node-local and never valid in the kvstore.
 */
export function checkReferencedIdentity(where: Where, source: ClusterInfo | undefined, id: number, field: string): void {
  if (id > MAX_GLOBAL_IDENTITY) {
    reject(where, "identity-out-of-range", field, `identity ${id} is not a global identity (0..${MAX_GLOBAL_IDENTITY}); node-local identities are never shared`);
  }
  if (source === undefined || id < MINIMAL_NUMERIC_IDENTITY) return;
  checkAllocatedIdentity(where, source, id, field);
}
