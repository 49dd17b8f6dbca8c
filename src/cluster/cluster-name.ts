/**
 * Cluster names, with Cilium's rule: the name is a kvstore key segment, the value of the
 * `io.cilium.k8s.policy.cluster` label and part of etcd user names (`local-<cluster>`), so it has
 * to be a short DNS-label-like string.
 */

export const CLUSTER_NAME_MAX_LENGTH = 32;

/** The name a cluster carries before it joins a mesh; it may only go with cluster ID 0. */
export const DEFAULT_CLUSTER_NAME = "default";

const CLUSTER_NAME_PATTERN = /^([a-z0-9][-a-z0-9]*)?[a-z0-9]$/;

/**
 * The rule `name` breaks, phrased to follow `cluster name "<name>" is invalid: `, or undefined
 * when the name is well formed. Whether "default" is allowed depends on the cluster ID and is
 * checked by validateClusterInfo.
 */
export function clusterNameProblem(name: string): string | undefined {
  if (name.length === 0) return "it must not be empty";
  if (name.length > CLUSTER_NAME_MAX_LENGTH) {
    return `it must be at most ${CLUSTER_NAME_MAX_LENGTH} characters long (it has ${name.length})`;
  }
  if (!CLUSTER_NAME_PATTERN.test(name)) {
    return "it must consist of lower case letters, digits and '-', and start and end with a letter or digit";
  }
  return undefined;
}

export function isValidClusterName(name: unknown): name is string {
  return typeof name === "string" && clusterNameProblem(name) === undefined;
}
