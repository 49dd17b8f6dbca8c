/**
 * The datapath's model: what the agent wants on its node (DesiredNodeState), the kernel objects
 * that state becomes (DatapathObject), and what a reconcile did about them (ReconcileReport).
 * Every implementation (linux, the recording fake) speaks these types and passes one contract
 * suite (contract.ts).
 */

export type DatapathMode = "tunnel" | "native";

/** The node this datapath runs on. */
export interface LocalNode {
  readonly name: string;
  readonly cluster: string;
  /** IPv4 address of the node on the underlay; the tunnel's source address. */
  readonly nodeIP: string;
  /** IPv4 pod CIDR of this node, e.g. "100.65.0.0/24"; its first host address is the router IP. */
  readonly podCIDR: string;
  /** Interface that carries the node IP (the VXLAN device sends through it). */
  readonly uplink: string;
  /**
   * MTU of the underlay path. Default: the uplink's MTU. Set it when the path between nodes is
   * narrower than the uplink itself.
   */
  readonly underlayMtu?: number;
}

/** Another node of the mesh (this cluster or a remote one), as its node record describes it. */
export interface PeerNode {
  readonly name: string;
  readonly cluster: string;
  readonly nodeIP: string;
  readonly podCIDR: string;
}

/** A pod on this node, as the CNI plugin set it up (docs/agent-api.md, pod addressing contract). */
export interface LocalEndpoint {
  /** The pod's IPv4 address, inside the local pod CIDR. */
  readonly ip: string;
  /** Host-side veth, `trl` + 11 hex digits of sha256(containerID). */
  readonly hostIfName: string;
  /** For messages only. */
  readonly containerId?: string;
}

export type ServiceProtocol = "tcp" | "udp";

export interface ServiceBackend {
  readonly ip: string;
  readonly port: number;
  /**
   * Only active backends take new connections. An inactive one (terminating, or not chosen by
   * the affinity rules above the datapath) keeps the connections it already has: conntrack holds
   * their translation, whatever the rules say now.
   */
  readonly active: boolean;
}

/**
 * One load-balanced port of a service, as the layers above decided it: which backends exist and
 * which of them take new connections. A Kubernetes service with several ports is several specs.
 * Specs are values: the Linux datapath recognises a spec it has seen before by identity and skips
 * re-checking it, so build a new object to change one, never mutate it.
 */
export interface ServiceSpec {
  /** Stable and unique among the node's services, e.g. "default/nginx" or "default/nginx:http". */
  readonly id: string;
  readonly protocol: ServiceProtocol;
  /** Port of the ClusterIP and load-balancer frontends. */
  readonly port: number;
  readonly clusterIP: string;
  /** 30000-32767; reachable on every local address of the node. */
  readonly nodePort?: number;
  /** Reachable when traffic for them is routed to the node. */
  readonly loadBalancerIPs?: readonly string[];
  readonly backends: readonly ServiceBackend[];
}

export interface DesiredNodeState {
  readonly mode: DatapathMode;
  readonly local: LocalNode;
  readonly peers: readonly PeerNode[];
  readonly endpoints: readonly LocalEndpoint[];
  /** Services load-balanced on this node (nftables). None: no service table on the node. */
  readonly services?: readonly ServiceSpec[];
}

/*
 * Network policy, enforced in its own nftables table (`ip trellis_policy`), apart from the node
 * state above: policy and ipcache change far more often than routes, and one ipcache change must
 * cost one set-element update, not a reconcile of the node.
 */

/** One direction of one endpoint's policy, as src/policy resolves it. */
export interface PolicyDirectionRules {
  /** Default deny: traffic no allow key covers is dropped. */
  readonly enforced: boolean;
  /**
   * Policy keys (src/policy/policy-key.ts): "<identity>/<protocol>/<port>[-<endPort>]", 0 as a
   * wildcard in any position. Ingress keys name the source's identity and the endpoint's port;
   * egress keys the destination's identity and port.
   */
  readonly allow: ReadonlySet<string>;
  /** Deny wins over allow, and applies whether or not the direction is enforced. */
  readonly deny: ReadonlySet<string>;
}

/** The policy of one local endpoint (a pod on this node), found by its host-side veth. */
export interface EndpointPolicyRules {
  readonly hostIfName: string;
  readonly ip: string;
  readonly ingress: PolicyDirectionRules;
  readonly egress: PolicyDirectionRules;
}

export interface NodePolicyState {
  /**
   * Address -> security identity for every address the node's endpoints may exchange traffic
   * with: pods of this and every connected cluster, health endpoints (4), this node's addresses
   * (host, 1) and other nodes' addresses (remote-node, 6). An address not in it is world (2).
   */
  readonly ipcache: ReadonlyMap<string, number>;
  /**
   * Endpoints with an enforced direction or a deny key. An endpoint not listed is not subject to
   * policy (no policy selects it): its traffic passes untouched.
   */
  readonly endpoints: readonly EndpointPolicyRules[];
}

export interface PolicyReconcileReport {
  readonly ipcache: { readonly added: number; readonly updated: number; readonly removed: number };
  readonly endpoints: { readonly added: number; readonly updated: number; readonly removed: number; readonly kept: number };
  /** The table was rebuilt from scratch (first reconcile, resync, recovery after a failed transaction). */
  readonly rebuilt: boolean;
  /** Empty when the kernel now enforces exactly the desired state. */
  readonly problems: readonly DatapathProblem[];
  readonly durationMs: number;
}

/*
 * Kernel objects. Each has an identity (objectKey in objects.ts: what a `replace` overwrites) and
 * a full description; two objects with the same key and different descriptions are one update.
 */

export interface SysctlObject {
  readonly kind: "sysctl";
  readonly name: string;
  readonly value: string;
}

/** The VXLAN device. */
export interface LinkObject {
  readonly kind: "link";
  readonly name: string;
  readonly vni: number;
  readonly port: number;
  /** Source address of the tunnel (the node IP). */
  readonly local: string;
  /** Underlay device the tunnel sends through. */
  readonly dev: string;
  readonly mtu: number;
  readonly mac: string;
  readonly learning: boolean;
  readonly up: boolean;
}

/** An IPv4 address Trellis put on a device (the router IP on `lo`). */
export interface AddressObject {
  readonly kind: "address";
  readonly ip: string;
  readonly prefixLength: number;
  readonly dev: string;
}

/** A VXLAN forwarding entry: frames for `mac` go to the underlay address `dst`. */
export interface FdbObject {
  readonly kind: "fdb";
  readonly mac: string;
  readonly dev: string;
  readonly dst: string;
}

/** A permanent neighbour entry: `ip` on `dev` is reached at `mac`. */
export interface NeighObject {
  readonly kind: "neigh";
  readonly ip: string;
  readonly mac: string;
  readonly dev: string;
}

/** A route in the main table, owned by Trellis (marked with Trellis's route protocol). */
export interface RouteObject {
  readonly kind: "route";
  /** Canonical "a.b.c.d/len". */
  readonly dst: string;
  readonly gateway?: string;
  readonly dev: string;
  readonly onlink?: boolean;
  /** Only ever set on routes read from the kernel; Trellis installs its routes with metric 0. */
  readonly metric?: number;
}

/*
 * Service load-balancing objects, all in Trellis's nftables table (linux/nftables/layout.ts).
 * `unexpected` is only ever set on objects read from the kernel, saying how they differ from
 * anything Trellis writes, so that they compare unequal to every desired object and get rewritten.
 */

/** The service table with its fixed chains, maps and sets. */
export interface LbTableObject {
  readonly kind: "lb-table";
  readonly family: "ip";
  readonly name: string;
  readonly unexpected?: string;
}

export type FrontendType = "clusterIP" | "loadBalancer" | "nodePort";

/** A chain that picks one of `backends` slots for frontends of one type and protocol. */
export interface LbSelectorObject {
  readonly kind: "lb-selector";
  readonly frontend: FrontendType;
  readonly protocol: ServiceProtocol;
  readonly backends: number;
  readonly unexpected?: string;
}

/**
 * One way into a service: `ip:port` (ClusterIP, load-balancer IP) or `port` on every local
 * address (nodePort), with its active backends in slot order. No backends: new connections are
 * rejected.
 */
export interface LbFrontendObject {
  readonly kind: "lb-frontend";
  readonly service: string;
  readonly type: FrontendType;
  /** Absent for nodePort frontends. */
  readonly ip?: string;
  readonly protocol: ServiceProtocol;
  readonly port: number;
  /** "ip:port" of each active backend. */
  readonly backends: readonly string[];
  readonly unexpected?: string;
}

/** A local pod that reaches itself through a service is masqueraded, or it would drop its own replies. */
export interface LbHairpinObject {
  readonly kind: "lb-hairpin";
  readonly ip: string;
}

export type LbObject = LbTableObject | LbSelectorObject | LbFrontendObject | LbHairpinObject;

export type DatapathObject = SysctlObject | LinkObject | AddressObject | FdbObject | NeighObject | RouteObject | LbObject;
export type DatapathObjectKind = DatapathObject["kind"];

export interface ObjectUpdate {
  readonly from: DatapathObject;
  readonly to: DatapathObject;
}

/** Something the reconcile could not do; the rest was still applied. Retrying may fix it. */
export interface DatapathProblem {
  readonly object?: DatapathObject;
  readonly message: string;
}

export interface KindCounts {
  readonly added: number;
  readonly updated: number;
  readonly removed: number;
  readonly kept: number;
}

export interface ReconcileReport {
  readonly added: readonly DatapathObject[];
  readonly updated: readonly ObjectUpdate[];
  readonly removed: readonly DatapathObject[];
  /** Objects that were already as desired. */
  readonly kept: number;
  readonly counts: Readonly<Record<DatapathObjectKind, KindCounts>>;
  /** Empty when the node now matches the desired state exactly. */
  readonly problems: readonly DatapathProblem[];
  readonly durationMs: number;
}

export interface TeardownReport {
  readonly removed: readonly DatapathObject[];
  readonly durationMs: number;
}

/**
 * Turns a desired state into kernel state. Implementations compare against what is really there,
 * so a new instance over a node programmed by an earlier one changes nothing when the desired
 * state is the same. (The Linux datapath reads the service table in full only when it starts and
 * on a periodic resync, and in between trusts its record of what it applied, so that one backend
 * change costs the same with 10 or 10,000 services.) Calls on one instance run one at a time.
 */
export interface Datapath {
  /**
   * Makes the node match `desired`: adds what is missing, fixes what differs, removes what
   * Trellis made that is no longer wanted, and never touches anything Trellis did not make.
   * Rejects a malformed desired state (DatapathInputError) before changing anything.
   */
  reconcile(desired: DesiredNodeState): Promise<ReconcileReport>;
  /**
   * Makes the node's policy table enforce `desired`, sending only the difference from what it
   * applied last (one ipcache entry: one element). Independent of reconcile(); teardown() removes
   * the policy table too. Rejects a malformed state (DatapathInputError) before changing anything.
   */
  reconcilePolicy(desired: NodePolicyState): Promise<PolicyReconcileReport>;
  /**
   * Removes every object Trellis made on this node. Sysctls are left as they are: another
   * program may rely on IP forwarding, and nothing records who turned it on.
   */
  teardown(): Promise<TeardownReport>;
}
