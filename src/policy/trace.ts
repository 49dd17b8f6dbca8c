import { isReservedIdentity } from "../cluster/index.js";
import { labelToString, type Label } from "../state/labels.js";
import { describeOrigin, peerMatches, portCovers, type ResolveOptions, type RuleOrigin } from "./compile.js";
import { decide, type Decision, type Verdict } from "./decide.js";
import type { Direction, NetworkPolicy } from "./model.js";
import { PROTOCOL_NUMBERS, type FlowProtocol } from "./policy-key.js";
import { PolicyResolver, type IdentityCache } from "./resolve.js";
import { formatSelector, selectorMatches } from "./selector.js";

/**
 * `trellis policy trace`: why a flow is allowed or denied, laid out like `cilium policy trace`
 * (a header naming both ends, then per direction the rules that select the endpoint, what each
 * of their items matched, and a verdict). The verdict always comes from decide() over the
 * resolved key sets, i.e. what the datapath would do; the rule walk beside it only explains.
 */

/** One cluster's view: its policies, its identity cache and its options. */
export interface PolicyContext {
  readonly policies: readonly NetworkPolicy[];
  readonly identities: IdentityCache;
  readonly options: ResolveOptions;
}

export interface TraceEndpoint {
  readonly identity: number;
  readonly labels: readonly Label[];
  /**
   * The cluster whose policies govern this end, when it is a workload endpoint of a traced
   * cluster. Absent for world, nodes, or an endpoint of a cluster that is not being traced.
   */
  readonly context?: PolicyContext;
}

export interface TraceRequest {
  readonly src: TraceEndpoint;
  readonly dst: TraceEndpoint;
  readonly protocol: FlowProtocol;
  /** Destination port; ignored for ICMP. */
  readonly port: number;
}

export interface PeerTrace {
  readonly text: string;
  readonly matched: boolean;
}

export interface PortTrace {
  readonly text: string;
  readonly covers: boolean;
}

export interface ItemTrace {
  readonly origin: RuleOrigin;
  readonly deny: boolean;
  readonly peers: readonly PeerTrace[];
  readonly ports: readonly PortTrace[];
  /** A peer matched and a port entry covers the flow. */
  readonly applies: boolean;
}

export interface RuleTrace {
  readonly origin: RuleOrigin;
  /** The rule's subject selector, namespace included. */
  readonly subject: string;
  readonly items: readonly ItemTrace[];
}

export interface DirectionTrace {
  readonly direction: Direction;
  readonly endpointLabels: readonly Label[];
  readonly peerIdentity: number;
  readonly peerLabels: readonly Label[];
  /** Rules that select the endpoint and have this direction, in policy order. */
  readonly rules: readonly RuleTrace[];
  /** Every rule of the cluster, selecting or not. */
  readonly totalRules: number;
  readonly decision: Decision;
  readonly notes: readonly string[];
}

export interface FlowTrace {
  readonly src: { readonly identity: number; readonly labels: readonly Label[] };
  readonly dst: { readonly identity: number; readonly labels: readonly Label[] };
  readonly protocol: FlowProtocol;
  readonly port: number;
  /** Absent when the source is not a local endpoint of a traced cluster. */
  readonly egress?: DirectionTrace;
  /** Absent when the destination is not a local endpoint of a traced cluster. */
  readonly ingress?: DirectionTrace;
  readonly verdict: Verdict;
}

function traceDirection(direction: Direction, endpoint: TraceEndpoint & { context: PolicyContext }, peer: TraceEndpoint, protocol: FlowProtocol, port: number): DirectionTrace {
  const { context } = endpoint;
  const resolver = new PolicyResolver(context.policies, context.identities, context.options);
  const decision = decide(peer.identity, resolver.resolve(endpoint.labels)[direction], protocol, port);
  const proto = PROTOCOL_NUMBERS[protocol];
  const dport = protocol === "ICMP" ? 0 : port;
  const rules: RuleTrace[] = resolver.rules
    .filter((r) => r[direction].present && selectorMatches(r.subject, endpoint.labels))
    .map((r) => ({
      origin: r.origin,
      subject: formatSelector(r.subject),
      items: r[direction].items.map((item) => {
        const peers = item.peers.map((p) => ({ text: p.text, matched: peerMatches(p, peer.labels) }));
        const ports = item.ports.map((p) => ({ text: p.text, covers: portCovers(p, proto, dport) }));
        return { origin: item.origin, deny: item.deny, peers, ports, applies: peers.some((p) => p.matched) && ports.some((p) => p.covers) };
      }),
    }));
  const notes: string[] = [];
  if (!isReservedIdentity(peer.identity) && !context.identities.has(peer.identity)) {
    notes.push(`identity ${peer.identity} is not in cluster ${context.options.localCluster}'s identity cache: no rule can allow it until it is synced`);
  }
  return { direction, endpointLabels: endpoint.labels, peerIdentity: peer.identity, peerLabels: peer.labels, rules, totalRules: resolver.rules.length, decision, notes };
}

function hasContext(e: TraceEndpoint): e is TraceEndpoint & { context: PolicyContext } {
  return e.context !== undefined;
}

/** Traces a flow through the source's egress policy and the destination's ingress policy. */
export function traceFlow(request: TraceRequest): FlowTrace {
  const { src, dst, protocol, port } = request;
  const out: { -readonly [K in keyof FlowTrace]: FlowTrace[K] } = {
    src: { identity: src.identity, labels: src.labels },
    dst: { identity: dst.identity, labels: dst.labels },
    protocol,
    port,
    verdict: "allowed",
  };
  if (hasContext(src)) out.egress = traceDirection("egress", src, dst, protocol, port);
  if (hasContext(dst)) out.ingress = traceDirection("ingress", dst, src, protocol, port);
  if (out.egress?.decision.verdict === "denied" || out.ingress?.decision.verdict === "denied") out.verdict = "denied";
  return out;
}

function labelList(labels: readonly Label[], separator: string): string {
  return `[${labels.map(labelToString).join(separator)}]`;
}

function flowPort(protocol: FlowProtocol, port: number): string {
  return protocol === "ICMP" ? "ICMP" : `${port}/${protocol}`;
}

function formatDirection(t: DirectionTrace, protocol: FlowProtocol, port: number): string[] {
  const Dir = t.direction === "ingress" ? "Ingress" : "Egress";
  const lines = [`Resolving ${t.direction} policy for ${labelList(t.endpointLabels, " ")}`];
  for (const rule of t.rules) {
    lines.push(`* Rule ${rule.origin.policy} ${rule.origin.path} ${rule.subject}: selected`);
    for (const item of rule.items) {
      const path = item.origin.path.slice(rule.origin.path.length + 1);
      lines.push(`    ${path} ${item.deny ? "denies" : "allows"} ${t.direction === "ingress" ? "from" : "to"}:`);
      if (item.peers.length === 0) lines.push("      no peer (an empty rule selects nothing)");
      for (const p of item.peers) lines.push(`      ${p.text}: ${p.matched ? "matches" : `no match for ${labelList(t.peerLabels, " ")}`}`);
      const covered = item.ports.filter((p) => p.covers);
      lines.push(`      ports [${item.ports.map((p) => p.text).join(", ")}]: ${covered.length > 0 ? `cover ${flowPort(protocol, port)}` : `do not cover ${flowPort(protocol, port)}`}`);
      lines.push(`      => ${item.applies ? "applies" : "does not apply"}`);
    }
  }
  lines.push(`${t.rules.length}/${t.totalRules} rules selected`);
  for (const n of t.notes) lines.push(`Note: ${n}`);
  const d = t.decision;
  const rules = d.rules.map(describeOrigin).join(", ");
  if (d.reason === "denied-by-rule") lines.push(`Found deny rule ${rules}`);
  else if (d.reason === "allowed-by-rule") lines.push(`Found allow rule ${rules}`);
  else if (d.reason === "default-deny") lines.push(`Found no allow rule; default deny from ${rules}`);
  else lines.push(t.rules.length > 0 ? `Default deny is disabled by every selecting rule` : `No rule enforces ${t.direction} policy`);
  lines.push(`${Dir} verdict: ${d.verdict}`);
  return lines;
}

/** The trace as text, `cilium policy trace` style. */
export function formatTrace(trace: FlowTrace): string {
  const lines = [
    "----------------------------------------------------------------",
    "",
    `Tracing From: ${labelList(trace.src.labels, ", ")} => To: ${labelList(trace.dst.labels, ", ")} Ports: [${flowPort(trace.protocol, trace.port)}]`,
    "",
  ];
  if (trace.egress) lines.push(...formatDirection(trace.egress, trace.protocol, trace.port), "");
  else lines.push(`Egress policy not traced: the source is not a local endpoint of a traced cluster`, "");
  if (trace.ingress) lines.push(...formatDirection(trace.ingress, trace.protocol, trace.port), "");
  else lines.push(`Ingress policy not traced: the destination is not a local endpoint of a traced cluster`, "");
  lines.push(`Final verdict: ${trace.verdict === "allowed" ? "ALLOWED" : "DENIED"}`);
  return `${lines.join("\n")}\n`;
}
