/**
 * The lab's names and addresses. Everything the lab makes is named with LAB_PREFIX so that
 * `lab down` can find and remove exactly that, and it only uses these ranges (never RFC 1918):
 *
 *   underlay (node and control-plane IPs)  198.18.0.0/16   cluster c, node n -> 198.18.c.(10+n); control plane 198.18.c.2
 *   admin workstation (root namespace)     198.18.0.1
 *   service VIPs                           198.19.c.0/25   per cluster
 *   load-balancer IPs                      198.19.c.128/25 per cluster
 *   pod CIDRs                              100.(64+c).0.0/16 per cluster, a /24 per node
 */
export const LAB_PREFIX = "trl-";
export const UNDERLAY_CIDR = "198.18.0.0/16";
export const SERVICES_CIDR = "198.19.0.0/16";
export const PODS_CIDR = "100.64.0.0/10";
export const ADMIN_IP = "198.18.0.1";
export const FABRIC_NETNS = `${LAB_PREFIX}fabric`;
export const FABRIC_BRIDGE = `${LAB_PREFIX}br`;
export const ADMIN_LINK = `${LAB_PREFIX}admin`;
export const UNDERLAY_PREFIX_LEN = 16;
/** Clusters 1..MAX_LAB_CLUSTERS fit the per-cluster octets of the plan; nodes 1..MAX_LAB_NODES likewise. */
export const MAX_LAB_CLUSTERS = 63;
export const MAX_LAB_NODES = 200;

export interface LabHost {
  /** Network namespace name. */
  readonly netns: string;
  /** Address on the underlay. */
  readonly ip: string;
  /** The host's end of its uplink veth is always eth0; this is the fabric end, attached to the bridge. */
  readonly fabricPort: string;
}

export interface LabNodePlan extends LabHost {
  readonly name: string;
  readonly index: number;
}

export interface LabClusterPlan {
  readonly index: number;
  readonly name: string;
  readonly id: number;
  readonly controlPlane: LabHost;
  readonly nodes: readonly LabNodePlan[];
  readonly podPool: string;
  readonly podNodeMaskSize: number;
  readonly serviceCIDR: string;
  readonly loadBalancerPool: string;
}

export class LabPlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LabPlanError";
  }
}

export function planCluster(index: number, nodeCount: number, name = `cluster-${index}`, id = index): LabClusterPlan {
  if (!Number.isInteger(index) || index < 1 || index > MAX_LAB_CLUSTERS) {
    throw new LabPlanError(`the lab supports clusters 1..${MAX_LAB_CLUSTERS} (got ${index})`);
  }
  if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > MAX_LAB_NODES) {
    throw new LabPlanError(`--nodes must be between 1 and ${MAX_LAB_NODES} (got ${nodeCount})`);
  }
  const nodes: LabNodePlan[] = [];
  for (let n = 1; n <= nodeCount; n++) {
    nodes.push({ name: `node-${n}`, index: n, netns: nodeNetns(index, n), ip: `198.18.${index}.${10 + n}`, fabricPort: `c${index}n${n}` });
  }
  return {
    index,
    name,
    id,
    controlPlane: { netns: `${LAB_PREFIX}c${index}-cp`, ip: `198.18.${index}.2`, fabricPort: `c${index}cp` },
    nodes,
    podPool: `100.${64 + index}.0.0/16`,
    podNodeMaskSize: 24,
    serviceCIDR: `198.19.${index}.0/25`,
    loadBalancerPool: `198.19.${index}.128/25`,
  };
}

export function nodeNetns(cluster: number, node: number): string {
  return `${LAB_PREFIX}c${cluster}-n${node}`;
}

export function isLabNetns(name: string): boolean {
  return name.startsWith(LAB_PREFIX);
}
