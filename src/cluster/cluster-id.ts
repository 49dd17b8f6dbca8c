/**
 * Cluster IDs and the mesh size they live in. The ID is stamped into every security identity the
 * cluster allocates, so its width is fixed by maxConnectedClusters: 255 (8 bits, the default) or
 * 511 (9 bits). Cilium accepts no other size, and every cluster of one mesh must use the same.
 */

export type MaxConnectedClusters = 255 | 511;

export const DEFAULT_MAX_CONNECTED_CLUSTERS: MaxConnectedClusters = 255;

export const MAX_CONNECTED_CLUSTERS_VALUES: readonly MaxConnectedClusters[] = [255, 511];

/** A cluster that has not been given an ID; it cannot join a mesh. */
export const CLUSTER_ID_UNSET = 0;

export function isMaxConnectedClusters(value: unknown): value is MaxConnectedClusters {
  return value === 255 || value === 511;
}

/** True for an ID a meshed cluster may use: an integer from 1 to maxConnectedClusters. */
export function isValidClusterId(id: unknown, maxConnectedClusters: MaxConnectedClusters = DEFAULT_MAX_CONNECTED_CLUSTERS): id is number {
  return typeof id === "number" && Number.isInteger(id) && id >= 1 && id <= maxConnectedClusters;
}

/**
 * The rule `id` breaks, phrased to follow `cluster ID <id> is invalid: `, or undefined when the ID
 * is acceptable. `allowUnset` admits 0, the ID of a cluster that is not (yet) part of a mesh.
 */
export function clusterIdProblem(
  id: unknown,
  maxConnectedClusters: MaxConnectedClusters = DEFAULT_MAX_CONNECTED_CLUSTERS,
  allowUnset = false,
): string | undefined {
  if (id === CLUSTER_ID_UNSET && allowUnset) return undefined;
  if (isValidClusterId(id, maxConnectedClusters)) return undefined;
  const range = `it must be an integer from 1 to ${maxConnectedClusters}`;
  if (id === CLUSTER_ID_UNSET) return `${range}; 0 means "no cluster ID" and cannot be used in a mesh`;
  if (maxConnectedClusters === 255 && typeof id === "number" && Number.isInteger(id) && id > 255 && id <= 511) {
    return `${range}; IDs up to 511 need maxConnectedClusters set to 511 on every cluster of the mesh`;
  }
  return range;
}
