import { z } from "zod";
import { validateClusterInfo } from "../cluster/index.js";

/**
 * A cluster's own settings, written at install (`trellis install`, `lab up`) to
 * `trellis/config/cluster` and read by the operator and the agents.
 */
export type DatapathMode = "tunnel" | "native";

const cidr = z.string().regex(/^\d+\.\d+\.\d+\.\d+\/\d+$/, "an IPv4 CIDR such as 100.65.0.0/16");

export const clusterSettingsSchema = z.object({
  name: z.string(),
  id: z.number().int(),
  maxConnectedClusters: z.union([z.literal(255), z.literal(511)]),
  datapathMode: z.enum(["tunnel", "native"]),
  podPool: cidr,
  podNodeMaskSize: z.number().int().min(8).max(30),
  serviceCIDR: cidr,
  loadBalancerPool: cidr,
  /**
   * Cilium 1.19's policy-default-local-cluster: a policy selector without a cluster label selects
   * workloads of this cluster only. Absent means true; agents follow changes without a restart.
   */
  policyDefaultLocalCluster: z.boolean().optional(),
});

export type ClusterSettings = z.infer<typeof clusterSettingsSchema>;

export function parseClusterSettings(text: string): ClusterSettings {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error("trellis/config/cluster is not JSON; reinstall the cluster (trellis install)");
  }
  const r = clusterSettingsSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Error(`trellis/config/cluster: ${i.path.join(".")}: ${i.message}`);
  }
  validateClusterInfo({ name: r.data.name, id: r.data.id, maxConnectedClusters: r.data.maxConnectedClusters });
  return r.data;
}
