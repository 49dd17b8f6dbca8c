import assert from "node:assert/strict";
import { decodeClusterService, type ClusterServiceRecord } from "../../state/index.js";
import type { ServiceEndpoints } from "../../resources/service-endpoints.js";
import { parseService, type Service, type ServiceStatus } from "../../resources/service.js";
import { desiredExports, type ExportingCluster } from "../export.js";
import type { LocalBackendInput, LocalServiceState } from "../local-service.js";

/**
 * Seed 002 as data: nginx-deployment, a LoadBalancer Service with the older annotation spelling
 * (io.cilium/global-service, io.cilium/service-affinity: local), two replicas in each of
 * cluster-1 and cluster-2. The addresses are the seed's own.
 */

export const CLUSTER_1: ExportingCluster = { name: "cluster-1", id: 1 };
export const CLUSTER_2: ExportingCluster = { name: "cluster-2", id: 2 };

export const SEED_ANNOTATIONS = { "io.cilium/global-service": "true", "io.cilium/service-affinity": "local" } as const;

export const CLUSTER_1_BACKENDS = ["172.25.0.160", "172.25.0.12"] as const;
export const CLUSTER_2_BACKENDS = ["172.26.0.31", "172.26.0.196"] as const;

export function nginxService(annotations: Record<string, string> = SEED_ANNOTATIONS, overrides: { ports?: unknown[]; type?: string } = {}): Service {
  return parseService({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "nginx-deployment", labels: { app: "nginx" }, annotations },
    spec: {
      type: overrides.type ?? "LoadBalancer",
      ports: overrides.ports ?? [{ port: 80, protocol: "TCP", targetPort: 80 }],
      selector: { app: "nginx" },
    },
  });
}

export const CLUSTER_1_STATUS: ServiceStatus = { clusterIP: "10.240.27.208", nodePorts: { "80": 31380 }, loadBalancerIPs: ["198.19.1.100"] };
export const CLUSTER_2_STATUS: ServiceStatus = { clusterIP: "10.241.80.12", nodePorts: { "80": 30712 }, loadBalancerIPs: ["198.19.2.100"] };

export function endpoints(ips: readonly string[], extra: Partial<LocalBackendInput> = {}): ServiceEndpoints {
  return { backends: ips.map((ip, i) => ({ ip, ready: true, pod: `nginx-deployment-${i}`, node: `worker-${i + 1}`, ...extra })), managedBy: "operator" };
}

export function cluster1State(backends: readonly string[] = CLUSTER_1_BACKENDS, annotations: Record<string, string> = SEED_ANNOTATIONS): LocalServiceState {
  return { service: nginxService(annotations), status: CLUSTER_1_STATUS, endpoints: endpoints(backends) };
}

/** What cluster-1 receives from cluster-2: cluster-2's own export, written and read back as Cilium JSON. */
export function cluster2Record(backends: readonly string[] = CLUSTER_2_BACKENDS, annotations: Record<string, string> = SEED_ANNOTATIONS): ClusterServiceRecord {
  const { exports, problems } = desiredExports(CLUSTER_2, [{ service: nginxService(annotations), status: CLUSTER_2_STATUS, endpoints: endpoints(backends) }]);
  assert.deepEqual(problems, []);
  assert.equal(exports.size, 1, "cluster-2 exports its global, shared service");
  const [key, value] = [...exports][0]!;
  const r = decodeClusterService(key, value);
  assert.ok(r.ok, r.ok ? "" : r.error.message);
  return r.record;
}
