/**
 * The wire shapes of the agent's local API (docs/agent-api.md), declared once for the agent that
 * serves them, the CNI plugin and the CLI that call it, and the fakes tests put in its place.
 */

/** The body of POST /v1/ipam. */
export interface IpamRequest {
  /** "<containerID>/<ifName>"; the same owner always gets the same address back. */
  readonly owner: string;
}

/** The agent's answer to POST /v1/ipam. */
export interface IpamLease {
  readonly ip: string;
  readonly podCIDR: string;
  /** The node's router IP, the pod's gateway. */
  readonly gateway: string;
  readonly mtu: number;
}

/** The body of PUT /v1/endpoints/<containerId>. */
export interface EndpointRequest {
  readonly containerId: string;
  readonly ifName: string;
  readonly netns: string;
  readonly hostIfName: string;
  readonly ip: string;
  readonly podName: string;
  readonly podNamespace: string;
}

/**
 * A pod's network endpoint as the agent records it: the answer to PUT /v1/endpoints/<id>, and
 * what GET /v1/endpoints[/<id>] lists. The agent keeps these in its endpoints file too.
 */
export interface Endpoint extends EndpointRequest {
  readonly identity: number;
  /** Security labels, `source:key=value`. */
  readonly labels: readonly string[];
  readonly createdAt: string;
}

/** One direction of an endpoint's resolved policy, as GET /v1/endpoints and GET /v1/policy show it. */
export interface DirectionEnforcement {
  /** Default deny in this direction (Cilium's "POLICY ENFORCEMENT: Enabled"). */
  readonly enforced: boolean;
  readonly allowKeys: number;
  readonly denyKeys: number;
  /** `<policy> <rule path>` of every rule that selects the endpoint in this direction. */
  readonly selectedBy: readonly string[];
}

/** An item of GET /v1/endpoints: the endpoint and what policy does to it. */
export interface EndpointView extends Endpoint {
  readonly policy: { readonly ingress: DirectionEnforcement; readonly egress: DirectionEnforcement };
  /** "ready" once the endpoint's current policy is in the kernel, "regenerating" while a change is on its way, "not-ready" after a failure. */
  readonly status: "ready" | "regenerating" | "not-ready";
}

/** A stored policy in GET /v1/policy. */
export interface PolicyEntry {
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
  /** The document as applied. */
  readonly document: unknown;
  /** Set when the stored document is not valid: the agent does not enforce it. */
  readonly error?: string;
}

/** GET /v1/policy: the agent's policy repository and what it enforces on the node's endpoints. */
export interface PolicyRepository {
  readonly cluster: string;
  readonly node: string;
  /** Counts changes to the repository since the agent started (Cilium's policy revision). */
  readonly revision: number;
  /** A selector without io.cilium.k8s.policy.cluster selects only this cluster's workloads. */
  readonly defaultLocalCluster: boolean;
  readonly policies: readonly PolicyEntry[];
  readonly endpoints: readonly { readonly pod: string; readonly identity: number; readonly ip: string; readonly ingress: DirectionEnforcement; readonly egress: DirectionEnforcement }[];
}

/** An item of GET /v1/identities. */
export interface IdentityView {
  readonly id: number;
  /** Security labels, `source:key=value`. */
  readonly labels: readonly string[];
  /** The cluster that allocated it; absent for reserved identities, which every cluster has. */
  readonly cluster?: string;
  readonly source: "reserved" | "local" | "remote";
}

/** A pod named in a trace: the cluster defaults to the agent's own, then to the one connected cluster that has it. */
export interface TracePod {
  readonly cluster?: string;
  readonly namespace: string;
  readonly name: string;
}

/** The body of POST /v1/policy/trace: one end given by pod or by identity. */
export interface TraceRequestBody {
  readonly src: { readonly pod: TracePod } | { readonly identity: number };
  readonly dst: { readonly pod: TracePod } | { readonly identity: number };
  /** TCP (default), UDP, SCTP or ICMP. */
  readonly protocol?: string;
  /** Destination port; ignored for ICMP. */
  readonly dport: number;
}
