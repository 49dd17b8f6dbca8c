import { identityRangeOf } from "../../cluster/index.js";
import { LABEL_SOURCE_K8S, POD_NAMESPACE_LABEL, POLICY_CLUSTER_LABEL, type Label } from "../../state/labels.js";
import type { IdentityCache } from "../resolve.js";

/** Test helpers: workloads of a mesh with the labels and identity numbers the agent would give them. */

export interface Workload {
  readonly identity: number;
  readonly labels: readonly Label[];
}

/**
 * The identity of a pod of `cluster` (ID `clusterId`) with these pod labels: the n-th number of
 * the cluster's range, and the labels the agent adds (namespace, cluster), sorted by key.
 */
export function workload(cluster: string, clusterId: number, n: number, podLabels: Readonly<Record<string, string>>, namespace = "default"): Workload {
  const labels: Label[] = Object.entries(podLabels).map(([key, value]) => ({ source: LABEL_SOURCE_K8S, key, value }));
  labels.push({ source: LABEL_SOURCE_K8S, key: POD_NAMESPACE_LABEL, value: namespace });
  labels.push({ source: LABEL_SOURCE_K8S, key: POLICY_CLUSTER_LABEL, value: cluster });
  labels.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { identity: identityRangeOf(clusterId).first + n, labels };
}

export function identityCache(...workloads: readonly Workload[]): IdentityCache {
  return new Map(workloads.map((w) => [w.identity, w.labels]));
}
