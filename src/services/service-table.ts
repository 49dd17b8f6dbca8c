import type { Affinity, ServicePort } from "../resources/service.js";
import { effectiveAffinity, selectBackends, type BackendSelection } from "./affinity.js";
import { lbServiceSpec, type LbServiceSpec } from "./load-balancer-specs.js";
import type { MergedBackend, MergedService, ServiceMerger } from "./merge.js";
import { ServiceIdAllocator } from "./service-ids.js";

/**
 * The node's view of its services: for every frontend of every local service (its ClusterIP:port,
 * its node port on every node address, each load-balancer IP:port) the merged backends with what
 * affinity made of them, and a numeric ID per frontend that stays the frontend's for as long as it
 * exists. The agent programs it (specs()) and `trellis service list` shows it (entries()).
 * A service is listed once the operator has allocated its cluster IP.
 */

export type FrontendType = "ClusterIP" | "NodePort" | "LoadBalancer";

/** The node-port frontend answers on every address of the node, which Cilium writes as 0.0.0.0. */
export const NODE_PORT_FRONTEND_IP = "0.0.0.0";

export interface ServiceFrontend {
  readonly type: FrontendType;
  readonly ip: string;
  readonly port: number;
  readonly protocol: ServicePort["protocol"];
}

/** Cilium's backend states that Trellis has: active, or terminating (kept for its open connections). */
export type BackendState = "active" | "terminating";

export interface TableBackend extends MergedBackend, BackendSelection {
  readonly state: BackendState;
}

/** One port of a service: its frontends and its backends with their selection. */
export interface ServicePortTable {
  readonly namespace: string;
  readonly name: string;
  readonly port: ServicePort;
  /** The affinity in force (a service that is not global has none). */
  readonly affinity: Affinity;
  readonly clusterIP: string;
  readonly nodePort?: number;
  readonly loadBalancerIPs: readonly string[];
  readonly backends: readonly TableBackend[];
}

export interface ServiceTableEntry {
  readonly id: number;
  readonly namespace: string;
  readonly name: string;
  readonly frontend: ServiceFrontend;
  /** The service port's name ("" for an unnamed port). */
  readonly portName: string;
  readonly affinity: Affinity;
  readonly backends: readonly TableBackend[];
}

export interface ServiceTableOptions {
  /** Where frontend IDs come from; pass one restored from an earlier run to keep its IDs. */
  readonly ids?: ServiceIdAllocator;
}

interface Computed {
  readonly version: number;
  readonly frontendKeys: readonly string[];
  readonly ports: readonly ServicePortTable[];
  readonly entries: readonly ServiceTableEntry[];
  readonly specs: readonly LbServiceSpec[];
}

export class ServiceTable {
  readonly ids: ServiceIdAllocator;
  private readonly computed = new Map<string, Computed>();

  constructor(
    private readonly merger: ServiceMerger,
    options: ServiceTableOptions = {},
  ) {
    this.ids = options.ids ?? new ServiceIdAllocator();
  }

  /** Every frontend, in ID order. */
  entries(): ServiceTableEntry[] {
    this.refresh();
    return [...this.computed.values()].flatMap((c) => c.entries).sort((a, b) => a.id - b.id);
  }

  /** Every service port, ordered by service then port. */
  ports(): ServicePortTable[] {
    this.refresh();
    return this.inServiceOrder().flatMap((c) => c.ports);
  }

  /**
   * The datapath's specs, ordered by service then port. A service whose inputs did not change
   * since the last call yields the very same spec objects, which the datapath skips re-checking.
   */
  specs(): LbServiceSpec[] {
    this.refresh();
    return this.inServiceOrder().flatMap((c) => c.specs);
  }

  /** Brings the table up to date with the merger: recomputes changed services, frees the IDs of gone frontends. */
  refresh(): void {
    const refs = this.merger.localRefs();
    const live = new Set(refs);
    for (const [ref, c] of this.computed) {
      if (live.has(ref)) continue;
      for (const key of c.frontendKeys) this.ids.release(key);
      this.computed.delete(ref);
    }
    for (const ref of refs) {
      const service = this.merger.service(ref)!;
      const before = this.computed.get(ref);
      if (before?.version === service.version) continue;
      this.computed.set(ref, this.compute(ref, service, before));
    }
  }

  private inServiceOrder(): Computed[] {
    return [...this.computed.keys()].sort().map((ref) => this.computed.get(ref)!);
  }

  private compute(ref: string, service: MergedService, before: Computed | undefined): Computed {
    const { view, state, ports: merged } = service;
    const status = state.status;
    const type = state.service.spec.type;
    const affinity = effectiveAffinity(view.global, view.affinity);
    const ports: ServicePortTable[] = [];
    if (status?.clusterIP) {
      for (const { port, backends } of merged) {
        const nodePort = type !== "ClusterIP" ? status.nodePorts[String(port.port)] : undefined;
        ports.push({
          namespace: view.namespace,
          name: view.name,
          port,
          affinity,
          clusterIP: status.clusterIP,
          ...(nodePort !== undefined ? { nodePort } : {}),
          loadBalancerIPs: type === "LoadBalancer" ? status.loadBalancerIPs : [],
          backends: selectBackends(affinity, backends).map((b) => ({ ...b, state: b.terminating ? "terminating" : "active" })),
        });
      }
    }

    // Frontends in Cilium's order: the ClusterIP ones, then node ports, then load-balancer IPs.
    const frontends: { frontend: ServiceFrontend; port: ServicePortTable }[] = [];
    for (const p of ports) frontends.push({ frontend: { type: "ClusterIP", ip: p.clusterIP, port: p.port.port, protocol: p.port.protocol }, port: p });
    for (const p of ports) {
      if (p.nodePort !== undefined) frontends.push({ frontend: { type: "NodePort", ip: NODE_PORT_FRONTEND_IP, port: p.nodePort, protocol: p.port.protocol }, port: p });
    }
    for (const p of ports) for (const ip of p.loadBalancerIPs) frontends.push({ frontend: { type: "LoadBalancer", ip, port: p.port.port, protocol: p.port.protocol }, port: p });

    const frontendKeys = frontends.map(({ frontend: f }) => `${ref}|${f.type}|${f.ip}:${f.port}/${f.protocol}`);
    const keep = new Set(frontendKeys);
    for (const key of before?.frontendKeys ?? []) if (!keep.has(key)) this.ids.release(key);
    const entries = frontends.map(({ frontend, port: p }, i) => ({
      id: this.ids.acquire(frontendKeys[i]!),
      namespace: p.namespace,
      name: p.name,
      frontend,
      portName: p.port.name ?? "",
      affinity: p.affinity,
      backends: p.backends,
    }));
    return { version: service.version, frontendKeys, ports, entries, specs: ports.map(lbServiceSpec) };
  }
}
