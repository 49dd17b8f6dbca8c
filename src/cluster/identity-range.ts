import { clusterIdProblem, DEFAULT_MAX_CONNECTED_CLUSTERS, isMaxConnectedClusters, type MaxConnectedClusters } from "./cluster-id.js";
import { describeValue } from "./describe-value.js";

/**
 * Security identities are 24-bit numbers that carry the ID of the cluster that allocated them, so
 * an identity seen anywhere in the mesh says where it came from. With maxConnectedClusters 255 the
 * cluster ID sits in bits 16-23 (65,536 identities per cluster); with 511 in bits 15-23 (32,768).
 *
 * The range of cluster N (as Cilium's MinimalAllocationIdentity / MaximumAllocationIdentity in
 * pkg/identity/numericidentity compute it):
 *   - N > 0: first = N << shift, last = ((N + 1) << shift) - 1. The reserved numbers below 256
 *     are not carved out of it, because they all fall in cluster 0's block.
 *   - N = 0: first = 256 (the first non-reserved number), last = (1 << shift) - 1.
 * Numbers of 2^24 and up are not global identities (bit 24 marks node-local CIDR identities,
 * 2 << 24 remote-node ones) and never travel between clusters.
 */

export const IDENTITY_BITS = 24;

/** The largest global (cluster-scoped) identity. */
export const MAX_GLOBAL_IDENTITY = 2 ** IDENTITY_BITS - 1;

/** Identities below this are reserved (fixed meanings, well-known and user-reserved numbers). */
export const MINIMAL_NUMERIC_IDENTITY = 256;

export interface IdentityRange {
  /** First identity the cluster allocates. */
  readonly first: number;
  /** Last identity the cluster allocates (inclusive). */
  readonly last: number;
}

/** Bits of an identity that hold the cluster ID: 8 for a 255-cluster mesh, 9 for 511. */
export function clusterIdBits(maxConnectedClusters: MaxConnectedClusters = DEFAULT_MAX_CONNECTED_CLUSTERS): number {
  return requireMax(maxConnectedClusters) === 511 ? 9 : 8;
}

/** Position of the cluster ID in an identity: 16 for a 255-cluster mesh, 15 for 511. */
export function clusterIdShift(maxConnectedClusters: MaxConnectedClusters = DEFAULT_MAX_CONNECTED_CLUSTERS): number {
  return IDENTITY_BITS - clusterIdBits(maxConnectedClusters);
}

/** The identities cluster `clusterId` allocates. Cluster 0 (standalone) is accepted. */
export function identityRangeOf(clusterId: number, maxConnectedClusters: MaxConnectedClusters = DEFAULT_MAX_CONNECTED_CLUSTERS): IdentityRange {
  const shift = clusterIdShift(maxConnectedClusters);
  const why = clusterIdProblem(clusterId, maxConnectedClusters, true);
  if (why !== undefined) throw new RangeError(`cluster ID ${describeValue(clusterId)} is invalid: ${why} (got ${describeValue(clusterId)})`);
  const first = clusterId === 0 ? MINIMAL_NUMERIC_IDENTITY : clusterId * 2 ** shift;
  return { first, last: (clusterId + 1) * 2 ** shift - 1 };
}

/**
 * The cluster ID encoded in a global identity (0 for reserved numbers and cluster 0's
 * identities), or undefined when `identity` is not a global identity (not an integer in
 * 0..2^24-1).
 */
export function clusterOfIdentity(identity: number, maxConnectedClusters: MaxConnectedClusters = DEFAULT_MAX_CONNECTED_CLUSTERS): number | undefined {
  const shift = clusterIdShift(maxConnectedClusters);
  if (!isGlobalIdentity(identity)) return undefined;
  return identity >>> shift;
}

/** True when `identity` is one cluster `clusterId` may allocate. */
export function isInClusterRange(
  identity: number,
  clusterId: number,
  maxConnectedClusters: MaxConnectedClusters = DEFAULT_MAX_CONNECTED_CLUSTERS,
): boolean {
  const { first, last } = identityRangeOf(clusterId, maxConnectedClusters);
  return Number.isInteger(identity) && identity >= first && identity <= last;
}

/** True for an integer in 0..2^24-1, the numbers that may be shared between clusters. */
export function isGlobalIdentity(identity: number): boolean {
  return Number.isInteger(identity) && identity >= 0 && identity <= MAX_GLOBAL_IDENTITY;
}

function requireMax(value: unknown): MaxConnectedClusters {
  if (!isMaxConnectedClusters(value)) {
    throw new RangeError(`maxConnectedClusters ${describeValue(value)} is invalid: it must be 255 or 511 (got ${describeValue(value)})`);
  }
  return value;
}
