import { createHash } from "node:crypto";
import type { ServicePortTable } from "./service-table.js";

/**
 * The service table in the datapath's terms: one spec per service port, with its ClusterIP,
 * node port and load-balancer IPs as frontends and each backend flagged active or not. The
 * shapes are the datapath's ServiceSpec and ServiceBackend, restated here because the services
 * layer sits below the datapath and does not import it; service-table.test.ts checks that they
 * stay assignable.
 */

export interface LbBackendSpec {
  readonly ip: string;
  readonly port: number;
  readonly active: boolean;
}

export interface LbServiceSpec {
  readonly id: string;
  readonly protocol: "tcp" | "udp";
  readonly port: number;
  readonly clusterIP: string;
  readonly nodePort?: number;
  readonly loadBalancerIPs?: readonly string[];
  readonly backends: readonly LbBackendSpec[];
}

/** The datapath puts IDs into nftables comments, which hold at most 128 characters. */
const MAX_SPEC_ID = 128;

/** "namespace/name:port/protocol", e.g. "default/nginx:80/tcp"; hashed down when too long. */
export function lbSpecId(namespace: string, name: string, port: number, protocol: "TCP" | "UDP"): string {
  const id = `${namespace}/${name}:${port}/${protocol.toLowerCase()}`;
  if (id.length <= MAX_SPEC_ID) return id;
  const digest = createHash("sha256").update(id).digest("hex").slice(0, 8);
  return `${id.slice(0, MAX_SPEC_ID - digest.length - 1)}-${digest}`;
}

export function lbServiceSpec(p: ServicePortTable): LbServiceSpec {
  return {
    id: lbSpecId(p.namespace, p.name, p.port.port, p.port.protocol),
    protocol: p.port.protocol === "UDP" ? "udp" : "tcp",
    port: p.port.port,
    clusterIP: p.clusterIP,
    ...(p.nodePort !== undefined ? { nodePort: p.nodePort } : {}),
    ...(p.loadBalancerIPs.length > 0 ? { loadBalancerIPs: p.loadBalancerIPs } : {}),
    backends: p.backends.map((b) => ({ ip: b.ip, port: b.port, active: b.active })),
  };
}
