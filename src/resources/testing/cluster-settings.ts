import type { ClusterSettings } from "../cluster-settings.js";

/**
 * Settings of a cluster shaped like the lab's first one (docs/lab.md's address plan), for tests
 * that need a cluster and are about something else; override the fields a test is about.
 */
export function testClusterSettings(over: Partial<ClusterSettings> = {}): ClusterSettings {
  return {
    name: "cluster-1",
    id: 1,
    maxConnectedClusters: 255,
    datapathMode: "tunnel",
    podPool: "100.65.0.0/16",
    podNodeMaskSize: 24,
    serviceCIDR: "198.19.1.0/25",
    loadBalancerPool: "198.19.1.128/25",
    ...over,
  };
}
