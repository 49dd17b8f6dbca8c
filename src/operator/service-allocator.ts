import { cidrContains, formatIpv4, parseCidr, parseIpv4 } from "../util/ipv4.js";
import { servicePorts, type Service, type ServiceStatus } from "../resources/service.js";

export const NODE_PORT_RANGE = { min: 30000, max: 32767 } as const;

export class ServiceAllocationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ServiceAllocationError";
  }
}

/**
 * Cluster IPs, node ports and load-balancer IPs for services. Allocations are sticky (a service
 * keeps what it was given for its lifetime) and never collide; they live in each service's status,
 * so they survive operator restarts. `previous` holds the statuses already handed out.
 */
export class ServiceAllocator {
  private readonly usedIps = new Set<number>();
  private readonly usedPorts = new Set<number>();

  constructor(
    private readonly serviceCIDR: string,
    private readonly loadBalancerPool: string,
    previous: Iterable<ServiceStatus>,
  ) {
    for (const s of previous) this.reserve(s);
  }

  private reserve(s: ServiceStatus): void {
    this.usedIps.add(parseIpv4(s.clusterIP));
    for (const ip of s.loadBalancerIPs) this.usedIps.add(parseIpv4(ip));
    for (const p of Object.values(s.nodePorts)) this.usedPorts.add(p);
  }

  release(s: ServiceStatus): void {
    this.usedIps.delete(parseIpv4(s.clusterIP));
    for (const ip of s.loadBalancerIPs) this.usedIps.delete(parseIpv4(ip));
    for (const p of Object.values(s.nodePorts)) this.usedPorts.delete(p);
  }

  private nextIp(pool: string, what: string): string {
    const c = parseCidr(pool);
    // Skip the network address (and, for pools of 4 or more, the broadcast address).
    const size = c.size;
    for (let i = 1; i < size - (size >= 4 ? 1 : 0); i++) {
      const ip = c.network + i;
      if (!this.usedIps.has(ip)) {
        this.usedIps.add(ip);
        return formatIpv4(ip);
      }
    }
    throw new ServiceAllocationError(`${what} pool ${pool} is exhausted (${this.usedIps.size} addresses in use); delete unused services or use a larger range`);
  }

  private nextPort(requested: number | undefined, svc: string): number {
    if (requested !== undefined) {
      if (this.usedPorts.has(requested)) throw new ServiceAllocationError(`service ${svc}: nodePort ${requested} is already allocated to another service; pick another or leave it out`);
      this.usedPorts.add(requested);
      return requested;
    }
    for (let p = NODE_PORT_RANGE.min; p <= NODE_PORT_RANGE.max; p++) {
      if (!this.usedPorts.has(p)) {
        this.usedPorts.add(p);
        return p;
      }
    }
    throw new ServiceAllocationError(`no free node port in ${NODE_PORT_RANGE.min}-${NODE_PORT_RANGE.max}`);
  }

  /** The status a service should have, keeping whatever of `current` still fits its spec. */
  allocate(s: Service, current: ServiceStatus | undefined): ServiceStatus {
    const svc = `${s.metadata.namespace}/${s.metadata.name}`;
    const clusterIP = current && cidrContains(parseCidr(this.serviceCIDR), parseIpv4(current.clusterIP)) ? current.clusterIP : this.nextIp(this.serviceCIDR, "service IP");
    const nodePorts: Record<string, number> = {};
    if (s.spec.type !== "ClusterIP") {
      for (const p of servicePorts(s)) {
        const had = current?.nodePorts[String(p.port)];
        nodePorts[String(p.port)] = had !== undefined && (p.nodePort === undefined || p.nodePort === had) ? had : this.nextPort(p.nodePort, svc);
      }
    }
    let loadBalancerIPs: string[] = [];
    if (s.spec.type === "LoadBalancer") loadBalancerIPs = current?.loadBalancerIPs.length ? [...current.loadBalancerIPs] : [this.nextIp(this.loadBalancerPool, "load-balancer IP")];
    const next: ServiceStatus = { clusterIP, nodePorts, loadBalancerIPs };
    // Give back what the new status no longer uses (a type change from LoadBalancer to ClusterIP).
    if (current) {
      for (const ip of current.loadBalancerIPs) if (!loadBalancerIPs.includes(ip)) this.usedIps.delete(parseIpv4(ip));
      for (const port of Object.values(current.nodePorts)) if (!Object.values(nodePorts).includes(port)) this.usedPorts.delete(port);
    }
    return next;
  }
}
