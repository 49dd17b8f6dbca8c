/**
 * Where Trellis keeps its own desired state in a cluster's etcd: under `trellis/`, never under
 * `cilium/` (that tree holds only Cilium-format state, so it stays readable with Cilium's tools).
 */
export const TRELLIS_PREFIX = "trellis/";

export const keys = {
  clusterSettings: () => "trellis/config/cluster",
  nodeRegistration: (node: string) => `trellis/nodes/${node}`,
  nodeRegistrations: () => "trellis/nodes/",
  nodeCIDR: (node: string) => `trellis/node-cidrs/${node}`,
  nodeCIDRs: () => "trellis/node-cidrs/",
  deployment: (ns: string, name: string) => `trellis/deployments/${ns}/${name}`,
  deployments: () => "trellis/deployments/",
  pod: (ns: string, name: string) => `trellis/pods/${ns}/${name}`,
  pods: () => "trellis/pods/",
  podStatus: (ns: string, name: string) => `trellis/pod-status/${ns}/${name}`,
  podStatuses: () => "trellis/pod-status/",
  service: (ns: string, name: string) => `trellis/services/${ns}/${name}`,
  services: () => "trellis/services/",
  serviceStatus: (ns: string, name: string) => `trellis/service-status/${ns}/${name}`,
  serviceStatuses: () => "trellis/service-status/",
  /** Backends of a service: computed by the operator from pods, or given explicitly (clustermesh-apiserver). */
  serviceEndpoints: (ns: string, name: string) => `trellis/service-endpoints/${ns}/${name}`,
  serviceEndpointsAll: () => "trellis/service-endpoints/",
  secret: (ns: string, name: string) => `trellis/secrets/${ns}/${name}`,
  secrets: () => "trellis/secrets/",
  /**
   * Network policies as applied (JSON): CiliumNetworkPolicy by namespace, CiliumClusterwideNetworkPolicy
   * on its own prefix. They stay in their cluster: nothing under trellis/ is exported to the mesh.
   */
  policy: (ns: string, name: string) => `trellis/policies/${ns}/${name}`,
  policies: () => "trellis/policies/",
  clusterwidePolicy: (name: string) => `trellis/clusterwide-policies/${name}`,
  clusterwidePolicies: () => "trellis/clusterwide-policies/",
  /** Helm-style values of `trellis install`/`upgrade`, merged. */
  values: () => "trellis/config/values",
  /** What each agent and KVStoreMesh report about themselves (lease-bound), for `clustermesh status`. */
  agentStatus: (node: string) => `trellis/status/agents/${node}`,
  agentStatuses: () => "trellis/status/agents/",
  kvstoremeshStatus: () => "trellis/status/kvstoremesh",
  /** Cluster-mesh settings written by `clustermesh enable`. */
  clustermesh: () => "trellis/config/clustermesh",
} as const;
