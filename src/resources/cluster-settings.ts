/**
 * A cluster's own settings, written at install (`trellis install`, `lab up`) to
 * `trellis/config/cluster` and read by the operator and the agents.
 */
export type DatapathMode = "tunnel" | "native";

export interface ClusterSettings {
  readonly name: string;
  readonly id: number;
  readonly maxConnectedClusters: 255 | 511;
  readonly datapathMode: DatapathMode;
  /** Pool the operator cuts node pod CIDRs from. */
  readonly podPool: string;
  readonly podNodeMaskSize: number;
  readonly serviceCIDR: string;
  readonly loadBalancerPool: string;
}
