import { DEFAULT_MAX_CONNECTED_CLUSTERS, validateClusterInfo, type ClusterInfo } from "../cluster/index.js";
import type { ClusterConfigRecord } from "../state/index.js";

/**
 * Why a remote cluster's configuration rules it out of this mesh, or undefined. Its state would
 * be misread otherwise: identities carry the cluster ID in a number of bits fixed by
 * maxConnectedClusters, so a peer counting differently (or using our ID) would have its
 * identities taken for someone else's.
 */
export function remoteConfigProblem(local: ClusterInfo, config: ClusterConfigRecord): string | undefined {
  if (config.cluster === local.name) return `it has the local cluster's name ${JSON.stringify(local.name)}`;
  const remoteMax = config.capabilities.maxConnectedClusters ?? DEFAULT_MAX_CONNECTED_CLUSTERS;
  if (remoteMax !== local.maxConnectedClusters) {
    return `its maxConnectedClusters is ${remoteMax}, the local cluster's is ${local.maxConnectedClusters}: every cluster of a mesh must use the same value`;
  }
  if (config.id === local.id) return `its cluster ID ${config.id} is also the local cluster's (${local.name}): every cluster of a mesh needs its own ID`;
  return undefined;
}

/** The remote cluster as its configuration describes it: the DecodeContext for its records. */
export function peerClusterInfo(config: ClusterConfigRecord): ClusterInfo {
  return validateClusterInfo({
    name: config.cluster,
    id: config.id,
    maxConnectedClusters: config.capabilities.maxConnectedClusters ?? DEFAULT_MAX_CONNECTED_CLUSTERS,
  });
}
