/**
 * The typed form of a CiliumNetworkPolicy (cilium.io/v2) as Trellis enforces it: plain data, so a
 * parsed policy can be stored as JSON and compared with deepEqual. Only cnp.ts builds these.
 */

export const POLICY_API_VERSION = "cilium.io/v2";
export const CNP_KIND = "CiliumNetworkPolicy";
export const CCNP_KIND = "CiliumClusterwideNetworkPolicy";
export type PolicyKind = typeof CNP_KIND | typeof CCNP_KIND;

/** Cilium's entity names (pkg/policy/api/entity.go); entities.ts says what each one selects. */
export const ENTITIES = [
  "all",
  "world",
  "world-ipv4",
  "world-ipv6",
  "cluster",
  "host",
  "init",
  "ingress",
  "unmanaged",
  "remote-node",
  "health",
  "none",
  "kube-apiserver",
] as const;
export type Entity = (typeof ENTITIES)[number];

export type SelectorOperator = "In" | "NotIn" | "Exists" | "DoesNotExist";

export interface SelectorExpression {
  /** `source:key`, the source always spelled out ("any" where the user wrote none). */
  readonly key: string;
  readonly operator: SelectorOperator;
  /** Empty for Exists and DoesNotExist. */
  readonly values: readonly string[];
}

/** A Kubernetes label selector over security labels. Every key is `source:key`. */
export interface EndpointSelector {
  readonly matchLabels: Readonly<Record<string, string>>;
  readonly matchExpressions: readonly SelectorExpression[];
}

export type PortProtocolName = "TCP" | "UDP" | "SCTP" | "ANY";

export interface PortProtocol {
  /** 0 means every port. */
  readonly port: number;
  /** Last port of a range; equal to `port` for a single port. */
  readonly endPort: number;
  readonly protocol: PortProtocolName;
}

export interface PortRule {
  readonly ports: readonly PortProtocol[];
}

/** One element of ingress / ingressDeny / egress / egressDeny. */
export interface PeerRule {
  /**
   * fromEndpoints or toEndpoints as written (before namespace and cluster scoping). Undefined when
   * the field is absent; an explicit empty list selects no peer.
   */
  readonly endpoints?: readonly EndpointSelector[];
  /** fromEntities or toEntities; undefined when absent. */
  readonly entities?: readonly Entity[];
  /** Empty when absent: then the rule covers every port of its peers. */
  readonly toPorts: readonly PortRule[];
}

export type Direction = "ingress" | "egress";
export type Section = "ingress" | "ingressDeny" | "egress" | "egressDeny";

export interface PolicyRule {
  /** Where the rule sits in its document: "spec" or "specs[2]". */
  readonly path: string;
  /** As written; resolve adds the policy's namespace. */
  readonly endpointSelector: EndpointSelector;
  readonly ingress: readonly PeerRule[];
  readonly ingressDeny: readonly PeerRule[];
  readonly egress: readonly PeerRule[];
  readonly egressDeny: readonly PeerRule[];
  /** Cilium's enableDefaultDeny; an absent direction defaults to true when the rule has that direction. */
  readonly enableDefaultDeny: { readonly ingress?: boolean; readonly egress?: boolean };
  readonly description?: string;
}

export interface NetworkPolicy {
  readonly kind: PolicyKind;
  readonly name: string;
  /** The policy's namespace; undefined for a CiliumClusterwideNetworkPolicy. */
  readonly namespace?: string;
  readonly rules: readonly PolicyRule[];
}

/** `namespace/name`, or the bare name of a clusterwide policy: how policies are named in traces. */
export function policyName(policy: Pick<NetworkPolicy, "name" | "namespace">): string {
  return policy.namespace === undefined ? policy.name : `${policy.namespace}/${policy.name}`;
}
