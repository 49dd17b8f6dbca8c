/** What the health checker works with: the nodes to probe and what each probe found. */

/** The node (and cluster) a health server or responder answers for. */
export interface HealthIdentity {
  readonly cluster: string;
  readonly node: string;
}

/** One node of one cluster, as the agent knows it from the node records it watches. */
export interface HealthTarget {
  readonly cluster: string;
  readonly node: string;
  /** The node this prober runs on. */
  readonly local: boolean;
  /** The node's IP (its InternalIP), where its agent's health server listens. */
  readonly hostIP: string;
  /** The node's health endpoint (IPv4HealthIP), when it publishes one. */
  readonly healthIP?: string;
}

/** One probe: ICMP echo or `GET /hello`. `error` names what went wrong, in Cilium's words where it has them. */
export interface ProbeOutcome {
  readonly ok: boolean;
  /** Round-trip time in milliseconds (fractional), when the probe succeeded. */
  readonly rttMs?: number;
  readonly error?: string;
}

/** Both probes of one address. */
export interface PathResult {
  readonly ip: string;
  readonly icmp: ProbeOutcome;
  readonly http: ProbeOutcome;
}

export interface TargetResult {
  readonly cluster: string;
  readonly node: string;
  readonly local: boolean;
  /** The node's own IP: the path between the agents. */
  readonly host: PathResult;
  /** The node's health endpoint: the path a pod's traffic takes (through the tunnel in tunnel mode). */
  readonly endpoint?: PathResult;
  /** When this target's probes started (RFC 3339). */
  readonly lastProbed: string;
}

/** The outcome of one probe round over every target. */
export interface HealthReport {
  /** When the round started (RFC 3339). */
  readonly probeTime: string;
  /** How long the round took, in milliseconds. */
  readonly durationMs: number;
  /** The prober's interval between rounds, in milliseconds. */
  readonly intervalMs: number;
  readonly nodes: readonly TargetResult[];
}

/** The port Cilium's health servers and responders listen on (`GET /hello`). */
export const HEALTH_PORT = 4240;

/** A node's name as health output writes it: "<cluster>/<node>". */
export function targetName(t: { readonly cluster: string; readonly node: string }): string {
  return `${t.cluster}/${t.node}`;
}
