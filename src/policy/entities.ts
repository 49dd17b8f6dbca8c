import { LABEL_SOURCE_K8S, LABEL_SOURCE_RESERVED, POLICY_CLUSTER_LABEL, type Label } from "../state/labels.js";
import type { EndpointSelector, Entity } from "./model.js";
import { selectorMatches } from "./selector.js";

/**
 * Entities name peers that have no workload labels of their own, each as a list of selectors over
 * reserved labels (Cilium's pkg/policy/api/entity.go):
 *   - all: every identity, including ones not seen yet;
 *   - world: reserved:world, reserved:world-ipv4, reserved:world-ipv6 (identities 2, 9, 10);
 *   - host: this node (1); remote-node: every other node, of this cluster or a peer (6, and 7,
 *     which carries reserved:remote-node too); health, init, ingress, unmanaged, kube-apiserver;
 *   - cluster: the local cluster, i.e. host, remote-node, init, ingress, health, unmanaged,
 *     kube-apiserver, and every workload labelled io.cilium.k8s.policy.cluster=<local cluster>.
 *     Workloads of peer clusters are not part of it, whatever policy-default-local-cluster says;
 *   - none: nothing.
 */

const WILDCARD: EndpointSelector = { matchLabels: {}, matchExpressions: [] };

function reserved(name: string): EndpointSelector {
  return { matchLabels: { [`${LABEL_SOURCE_RESERVED}:${name}`]: "" }, matchExpressions: [] };
}

const CLUSTER_RESERVED = ["host", "remote-node", "init", "ingress", "health", "unmanaged", "kube-apiserver"];

/** The selectors an entity stands for; `localCluster` is this cluster's name (used by `cluster`). */
export function entitySelectors(entity: Entity, localCluster: string): readonly EndpointSelector[] {
  switch (entity) {
    case "all":
      return [WILDCARD];
    case "world":
      return [reserved("world"), reserved("world-ipv4"), reserved("world-ipv6")];
    case "cluster":
      return [
        ...CLUSTER_RESERVED.map(reserved),
        { matchLabels: { [`${LABEL_SOURCE_K8S}:${POLICY_CLUSTER_LABEL}`]: localCluster }, matchExpressions: [] },
      ];
    case "none":
      return [];
    default:
      return [reserved(entity)];
  }
}

/** True when an identity with these labels is part of the entity. */
export function entityMatches(entity: Entity, labels: readonly Label[], localCluster: string): boolean {
  return entitySelectors(entity, localCluster).some((s) => selectorMatches(s, labels));
}
