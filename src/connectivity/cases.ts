/**
 * The connectivity test's cases, as data. Each case names where traffic starts, where it goes,
 * how it is probed and what must happen; the runner expands a case into one action per concrete
 * target and protocol. Policy cases (allow/deny across clusters) are appended to this list: a case
 * with `expect: "drop"` passes only when every probe times out.
 */

export type Protocol = "icmp" | "http";

/** "success": every probe answers (HTTP from the intended backend). "drop": every probe times out. */
export type Expectation = "success" | "drop";

/** Where the probes run. */
export type SourceSpec =
  /** The test's client pod (in the cluster given by --context). */
  | { readonly kind: "pod"; readonly deployment: "client" }
  /** The node that runs the client pod, in its own network namespace. */
  | { readonly kind: "node"; readonly of: "client" }
  /** The admin workstation: the lab's root namespace (198.18.0.1), outside every cluster. */
  | { readonly kind: "admin" };

/** Which cluster a destination lives in, seen from the client: its own, or the --multi-cluster one. */
export type ClusterSide = "local" | "remote";

export type DestinationSpec =
  /** Echo pods by placement relative to the client: its node, another node, or all of them. */
  | { readonly kind: "pod"; readonly cluster: ClusterSide; readonly node: "same" | "other" | "all" }
  /**
   * A service of the test namespace in the client's cluster, by one of its addresses. `answeredBy`
   * says which cluster's pods must answer (a global service whose only backends are remote).
   */
  | {
      readonly kind: "service";
      readonly name: string;
      readonly address: "cluster-ip" | "load-balancer" | "node-port";
      readonly answeredBy: ClusterSide;
    };

/** The cluster names a policy is written for: the client's cluster and the --multi-cluster one. */
export interface PolicyClusters {
  readonly local: string;
  readonly remote: string;
}

/**
 * A CiliumNetworkPolicy the case applies (in the test namespace of one cluster) before its probes
 * and removes after them. `spec` is built from the cluster names, since cross-cluster selectors
 * name them (io.cilium.k8s.policy.cluster).
 */
export interface CasePolicy {
  readonly name: string;
  readonly cluster: ClusterSide;
  readonly spec: (clusters: PolicyClusters) => Record<string, unknown>;
}

export interface ConnectivityCase {
  /** Unique, kebab-case; what `--test` matches. */
  readonly name: string;
  readonly source: SourceSpec;
  readonly destination: DestinationSpec;
  readonly protocols: readonly Protocol[];
  readonly expect: Expectation;
  /** Policies in force while the case runs; none: the test namespace has no policy. */
  readonly policies?: readonly CasePolicy[];
}

/** A case needs the --multi-cluster cluster when anything it touches lives there. */
export function needsRemote(c: ConnectivityCase): boolean {
  if (c.policies?.some((p) => p.cluster === "remote")) return true;
  return c.destination.kind === "pod" ? c.destination.cluster === "remote" : c.destination.answeredBy === "remote";
}

/** The label Cilium gives every endpoint with its cluster's name. */
const CLUSTER_LABEL = "io.cilium.k8s.policy.cluster";
const TCP_ECHO = [{ ports: [{ port: "80", protocol: "TCP" }] }];

/** Cilium's connectivity test policies, in spirit: allow and deny across clusters. */
export const TEST_POLICIES = {
  /** The other cluster's echo pods admit the client's cluster's client pods on TCP 80, nothing else. */
  echoIngressFromOtherClusterClient: {
    name: "echo-ingress-from-other-cluster-client",
    cluster: "remote",
    spec: (c) => ({ endpointSelector: { matchLabels: { name: "echo" } }, ingress: [{ fromEndpoints: [{ matchLabels: { name: "client", [CLUSTER_LABEL]: c.local } }], toPorts: TCP_ECHO }] }),
  },
  /** The same without a cluster label: by default it means the echo pods' own cluster only. */
  echoIngressFromClientNoCluster: {
    name: "echo-ingress-from-client-local-cluster-default",
    cluster: "remote",
    spec: () => ({ endpointSelector: { matchLabels: { name: "echo" } }, ingress: [{ fromEndpoints: [{ matchLabels: { name: "client" } }], toPorts: TCP_ECHO }] }),
  },
  /** Everything may reach the echo pods except the client's cluster: deny beats allow. */
  echoIngressDenyOtherCluster: {
    name: "echo-ingress-deny-other-cluster",
    cluster: "remote",
    spec: (c) => ({
      endpointSelector: { matchLabels: { name: "echo" } },
      ingress: [{ fromEntities: ["all"] }],
      ingressDeny: [{ fromEndpoints: [{ matchLabels: { [CLUSTER_LABEL]: c.local } }] }],
    }),
  },
  /** The client may talk only to the other cluster. */
  clientEgressToOtherClusterOnly: {
    name: "client-egress-to-other-cluster-only",
    cluster: "local",
    spec: (c) => ({ endpointSelector: { matchLabels: { name: "client" } }, egress: [{ toEndpoints: [{ matchLabels: { [CLUSTER_LABEL]: c.remote } }] }] }),
  },
} as const satisfies Record<string, CasePolicy>;

/** The services the test deploys, by name (the workloads module creates exactly these). */
export const SERVICES = {
  /** LoadBalancer over the client cluster's echo pods: ClusterIP, NodePort and LB IP at once. */
  echo: "echo",
  /** Global in both clusters; in the client's cluster it selects no pod, so only remote pods back it. */
  echoRemote: "echo-remote",
} as const;

export const DEFAULT_CASES: readonly ConnectivityCase[] = [
  { name: "pod-to-pod-same-node", source: { kind: "pod", deployment: "client" }, destination: { kind: "pod", cluster: "local", node: "same" }, protocols: ["icmp", "http"], expect: "success" },
  { name: "pod-to-pod-other-node", source: { kind: "pod", deployment: "client" }, destination: { kind: "pod", cluster: "local", node: "other" }, protocols: ["icmp", "http"], expect: "success" },
  { name: "pod-to-pod-other-cluster", source: { kind: "pod", deployment: "client" }, destination: { kind: "pod", cluster: "remote", node: "all" }, protocols: ["icmp", "http"], expect: "success" },
  { name: "pod-to-service", source: { kind: "pod", deployment: "client" }, destination: { kind: "service", name: SERVICES.echo, address: "cluster-ip", answeredBy: "local" }, protocols: ["http"], expect: "success" },
  {
    name: "pod-to-global-service-remote-backends",
    source: { kind: "pod", deployment: "client" },
    destination: { kind: "service", name: SERVICES.echoRemote, address: "cluster-ip", answeredBy: "remote" },
    protocols: ["http"],
    expect: "success",
  },
  { name: "node-to-pod", source: { kind: "node", of: "client" }, destination: { kind: "pod", cluster: "local", node: "all" }, protocols: ["icmp", "http"], expect: "success" },
  { name: "admin-to-loadbalancer", source: { kind: "admin" }, destination: { kind: "service", name: SERVICES.echo, address: "load-balancer", answeredBy: "local" }, protocols: ["http"], expect: "success" },
  { name: "admin-to-nodeport", source: { kind: "admin" }, destination: { kind: "service", name: SERVICES.echo, address: "node-port", answeredBy: "local" }, protocols: ["http"], expect: "success" },
  ...policyCases(),
];

function policyCases(): ConnectivityCase[] {
  const client = { kind: "pod", deployment: "client" } as const;
  const remoteEcho = { kind: "pod", cluster: "remote", node: "all" } as const;
  const remoteService = { kind: "service", name: SERVICES.echoRemote, address: "cluster-ip", answeredBy: "remote" } as const;
  const p = TEST_POLICIES;
  return [
    { name: "policy-ingress-from-other-cluster-allow", source: client, destination: remoteEcho, protocols: ["http"], expect: "success", policies: [p.echoIngressFromOtherClusterClient] },
    { name: "policy-ingress-from-other-cluster-other-protocol-drop", source: client, destination: remoteEcho, protocols: ["icmp"], expect: "drop", policies: [p.echoIngressFromOtherClusterClient] },
    { name: "policy-ingress-global-service-allow", source: client, destination: remoteService, protocols: ["http"], expect: "success", policies: [p.echoIngressFromOtherClusterClient] },
    { name: "policy-ingress-local-cluster-default-drop", source: client, destination: remoteEcho, protocols: ["http"], expect: "drop", policies: [p.echoIngressFromClientNoCluster] },
    { name: "policy-ingress-global-service-drop", source: client, destination: remoteService, protocols: ["http"], expect: "drop", policies: [p.echoIngressFromClientNoCluster] },
    { name: "policy-ingress-deny-other-cluster-drop", source: client, destination: remoteEcho, protocols: ["http"], expect: "drop", policies: [p.echoIngressDenyOtherCluster] },
    { name: "policy-egress-other-cluster-only-allow", source: client, destination: remoteEcho, protocols: ["http"], expect: "success", policies: [p.clientEgressToOtherClusterOnly] },
    { name: "policy-egress-other-cluster-only-local-drop", source: client, destination: { kind: "pod", cluster: "local", node: "all" }, protocols: ["http"], expect: "drop", policies: [p.clientEgressToOtherClusterOnly] },
  ];
}
