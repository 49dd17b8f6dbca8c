import { RESERVED_IDENTITIES, IDENTITY_UNKNOWN } from "../cluster/index.js";
import {
  PROTOCOL_NUMBERS,
  describeOrigin,
  reservedIdentityLabels,
  traceFlow,
  type DirectionPolicy,
  type FlowProtocol,
  type FlowTrace,
  type TraceEndpoint,
} from "../policy/index.js";
import { LABEL_SOURCE_K8S, POLICY_CLUSTER_LABEL, labelToString, type Label } from "../state/labels.js";
import type { DirectionEnforcement, Endpoint, EndpointView, IdentityView, PolicyRepository, TracePod, TraceRequestBody } from "./api-types.js";
import type { PolicyEngine } from "./policy-engine.js";

/**
 * What the agent's API tells about policy: the repository, each endpoint's enforcement, the
 * identities it knows, and traces. Answers come from the engine's current view, the same one the
 * kernel was (or is about to be) given.
 */

export interface PolicyQuerySources {
  readonly cluster: string;
  readonly node: string;
  readonly engine: PolicyEngine;
  readonly endpoints: () => readonly Endpoint[];
  /** Every address the agent knows, this cluster's and connected clusters': the agent's ipcacheView(). */
  readonly ipcache: () => readonly { readonly identity: number; readonly pod?: string; readonly source: string }[];
}

/** A request the agent cannot answer; `status` is the HTTP status to give it. */
export class PolicyQueryError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 404,
  ) {
    super(message);
    this.name = "PolicyQueryError";
  }
}

function enforcement(d: DirectionPolicy | undefined): DirectionEnforcement {
  return { enforced: d?.enforced ?? false, allowKeys: d?.allow.size ?? 0, denyKeys: d?.deny.size ?? 0, selectedBy: (d?.selectedBy ?? []).map(describeOrigin) };
}

export function endpointViews(s: PolicyQuerySources): EndpointView[] {
  const health = s.engine.health();
  return s.endpoints().map((ep) => {
    const policy = s.engine.endpointPolicy(ep.containerId);
    return { ...ep, policy: { ingress: enforcement(policy?.ingress), egress: enforcement(policy?.egress) }, status: policy === undefined && health === "ready" ? "regenerating" : health };
  });
}

export function policyRepository(s: PolicyQuerySources): PolicyRepository {
  const status = s.engine.status();
  return {
    cluster: s.cluster,
    node: s.node,
    revision: status.revision,
    defaultLocalCluster: status.defaultLocalCluster,
    policies: s.engine.storedPolicies().map((p) => ({
      kind: p.kind,
      name: p.name,
      ...(p.namespace === undefined ? {} : { namespace: p.namespace }),
      document: p.document,
      ...(p.error === undefined ? {} : { error: p.error }),
    })),
    endpoints: endpointViews(s).map((e) => ({ pod: `${e.podNamespace}/${e.podName}`, identity: e.identity, ip: e.ip, ingress: e.policy.ingress, egress: e.policy.egress })),
  };
}

function clusterOf(labels: readonly Label[]): string | undefined {
  return labels.find((l) => l.source === LABEL_SOURCE_K8S && l.key === POLICY_CLUSTER_LABEL)?.value;
}

/** Reserved identities, then this cluster's, then the connected clusters', by number. */
export function identityViews(s: PolicyQuerySources): IdentityView[] {
  const out: IdentityView[] = RESERVED_IDENTITIES.filter((r) => r.id !== IDENTITY_UNKNOWN).map((r) => ({ id: r.id, labels: [...r.labels], source: "reserved" }));
  for (const [id, labels] of s.engine.context().identities) {
    const remote = clusterOf(labels) !== s.cluster;
    out.push({ id, labels: labels.map(labelToString), cluster: clusterOf(labels) ?? s.cluster, source: remote ? "remote" : "local" });
  }
  return out.sort((a, b) => a.id - b.id);
}

interface PodAddress {
  readonly cluster: string;
  readonly namespace: string;
  readonly name: string;
  readonly identity: number;
}

function podAddresses(s: PolicyQuerySources): PodAddress[] {
  const out: PodAddress[] = s.endpoints().map((e) => ({ cluster: s.cluster, namespace: e.podNamespace, name: e.podName, identity: e.identity }));
  for (const e of s.ipcache()) {
    const slash = e.pod?.indexOf("/") ?? -1;
    if (slash > 0) out.push({ cluster: e.source, namespace: e.pod!.slice(0, slash), name: e.pod!.slice(slash + 1), identity: e.identity });
  }
  return out;
}

function describePod(p: TracePod): string {
  return `${p.cluster ? `${p.cluster}/` : ""}${p.namespace}/${p.name}`;
}

/** The identity of a pod of this cluster or a connected one, from the ipcache. */
function podIdentity(s: PolicyQuerySources, pod: TracePod, flag: string): number {
  const found = podAddresses(s).filter((p) => p.namespace === pod.namespace && p.name === pod.name && (pod.cluster === undefined || p.cluster === pod.cluster));
  if (found.length === 0) {
    throw new PolicyQueryError(
      `pod ${describePod(pod)} is not in the ipcache of ${s.cluster}/${s.node} (this cluster's pods and those of connected clusters): check the name with "trellis get pods" and that it is running`,
      404,
    );
  }
  const clusters = [...new Set(found.map((p) => p.cluster))];
  const pick = clusters.includes(s.cluster) ? s.cluster : clusters.length === 1 ? clusters[0] : undefined;
  if (pick === undefined) {
    throw new PolicyQueryError(`pod ${pod.namespace}/${pod.name} exists in clusters ${clusters.join(", ")}: name one, e.g. ${flag} ${clusters[0]}/${pod.namespace}/${pod.name}`, 400);
  }
  return found.find((p) => p.cluster === pick)!.identity;
}

function traceEnd(s: PolicyQuerySources, end: TraceRequestBody["src"], flag: string): TraceEndpoint {
  const identity = "pod" in end ? podIdentity(s, end.pod, flag) : end.identity;
  if (!Number.isInteger(identity) || identity < 0) throw new PolicyQueryError(`identity must be a non-negative integer (got ${JSON.stringify(identity)})`, 400);
  const context = s.engine.context();
  const labels = context.identities.get(identity) ?? reservedIdentityLabels().get(identity);
  if (labels === undefined) {
    throw new PolicyQueryError(`identity ${identity} is not known to ${s.cluster}/${s.node}: see "trellis identity list" (a disconnected cluster's identities are withdrawn)`, 404);
  }
  // Only this cluster's workloads are governed by the policies this agent holds.
  return clusterOf(labels) === s.cluster ? { identity, labels, context } : { identity, labels };
}

/** Explains how the node would decide a flow: the source's egress (when it is of this cluster) and the destination's ingress. */
export function tracePolicy(s: PolicyQuerySources, body: TraceRequestBody): FlowTrace {
  const protocol = (body.protocol ?? "TCP").toUpperCase();
  if (!Object.hasOwn(PROTOCOL_NUMBERS, protocol)) throw new PolicyQueryError(`protocol must be one of ${Object.keys(PROTOCOL_NUMBERS).join(", ")} (got ${JSON.stringify(body.protocol)})`, 400);
  const icmp = protocol === "ICMP";
  if (!icmp && (!Number.isInteger(body.dport) || body.dport < 1 || body.dport > 65535)) {
    throw new PolicyQueryError(`dport must be a port number from 1 to 65535 (got ${JSON.stringify(body.dport)})`, 400);
  }
  return traceFlow({ src: traceEnd(s, body.src, "--src-pod"), dst: traceEnd(s, body.dst, "--dst-pod"), protocol: protocol as FlowProtocol, port: icmp ? 0 : body.dport });
}
