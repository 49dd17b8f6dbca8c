import { HealthEndpoint } from "../health/health-endpoint.js";
import { HealthProber } from "../health/prober.js";
import { HealthServer } from "../health/health-server.js";
import type { HealthReport } from "../health/types.js";
import type { Logger } from "../log/logger.js";
import type { NodeCache } from "./node-cache.js";

export interface AgentHealthOptions {
  readonly cluster: string;
  readonly node: string;
  readonly nodeIP: string;
  readonly healthIP: string;
  readonly routerIP: string;
  readonly mtu: number;
  /** Network namespace of the node's health endpoint. */
  readonly netns: string;
  readonly stateDir: string;
  /** How to start the endpoint's responder (`trellis health responder`). */
  readonly responder: { command: string; args: readonly string[] };
  readonly intervalMs: number;
  readonly nodes: NodeCache;
  /** Called after every probe round (metrics). */
  readonly onReport?: (report: HealthReport) => void;
  readonly logger: Logger;
}

/**
 * Cilium's health checking, per node: the agent answers `GET /hello` on <node IP>:4240, a health
 * endpoint (its own namespace, wired like a pod, answering on <health IP>:4240) stands for the
 * node's pods, and a prober checks every node of every connected cluster by ICMP and HTTP, both
 * the node and its health endpoint, at an interval.
 */
export class AgentHealth {
  readonly endpoint: HealthEndpoint;
  private readonly server: HealthServer;
  private readonly prober: HealthProber;
  private repair: NodeJS.Timeout | undefined;
  hostIfName: string | undefined;

  constructor(private readonly o: AgentHealthOptions) {
    this.server = new HealthServer({ ip: o.nodeIP, identity: { cluster: o.cluster, node: o.node }, logger: o.logger });
    this.endpoint = new HealthEndpoint({
      netns: o.netns,
      ip: o.healthIP,
      routerIp: o.routerIP,
      mtu: o.mtu,
      identity: { cluster: o.cluster, node: o.node },
      stateDir: o.stateDir,
      responder: o.responder,
      logger: o.logger,
    });
    this.hostIfName = this.endpoint.hostIfName;
    this.prober = new HealthProber({
      intervalMs: o.intervalMs,
      onReport: o.onReport,
      logger: o.logger,
      targets: () =>
        o.nodes
          .all()
          .filter((n) => n.nodeIP)
          .map((n) => ({ cluster: n.cluster, node: n.name, local: n.cluster === o.cluster && n.name === o.node, hostIP: n.nodeIP!, healthIP: n.healthIP || undefined })),
    });
  }

  async start(): Promise<void> {
    // A responder that died is started again; a deleted namespace is rebuilt.
    this.repair = setInterval(() => void this.endpoint.ensure().catch((e: Error) => this.o.logger.warn({ err: e.message }, "health endpoint repair failed")), 30_000);
    this.repair.unref();
    this.prober.start();
    await this.server.start();
    const r = await this.endpoint.ensure();
    this.hostIfName = r.hostIfName;
  }

  latest(): HealthReport | undefined {
    return this.prober.latest();
  }

  probeNow(): Promise<HealthReport> {
    return this.prober.probeNow();
  }

  async stop(): Promise<void> {
    if (this.repair) clearInterval(this.repair);
    this.prober.stop();
    await this.server.stop();
    // The endpoint stays: like a pod, it outlives an agent restart.
  }
}
