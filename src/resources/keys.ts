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
} as const;
