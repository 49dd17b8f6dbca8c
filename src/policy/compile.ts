import { clusterNameProblem } from "../cluster/index.js";
import type { Label } from "../state/labels.js";
import { entitySelectors } from "./entities.js";
import {
  policyName,
  type Direction,
  type EndpointSelector,
  type Entity,
  type NetworkPolicy,
  type PeerRule,
  type PolicyKind,
  type PolicyRule,
  type Section,
} from "./model.js";
import { ANY_PORT, protocolNumber } from "./policy-key.js";
import { formatSelector, isWildcardSelector, scopePeerSelector, scopeSubjectSelector, selectorMatches } from "./selector.js";

/**
 * Policies in the form resolve and trace both evaluate, so the two cannot disagree: subjects and
 * peer selectors scoped as Cilium scopes them, entities expanded into selectors, ports turned into
 * (protocol number, port range). An item's peers follow Cilium's rules:
 *   - fromEndpoints/fromEntities given: those peers; an explicitly empty list makes the item
 *     select no peer at all;
 *   - neither given but toPorts given: every peer, on those ports;
 *   - neither given and no toPorts (`ingress: [{}]`): nothing, though the direction is still
 *     enforced, which is how Cilium spells "deny all".
 */

export interface ResolveOptions {
  /** This cluster's name: policies apply to its endpoints and `cluster` means its workloads. */
  readonly localCluster: string;
  /**
   * Cilium 1.19's policy-default-local-cluster (default true): a peer selector without an
   * io.cilium.k8s.policy.cluster label selects workloads of the local cluster only. False
   * restores the older meaning, workloads of every cluster in the mesh.
   */
  readonly defaultLocalCluster?: boolean;
}

/** Which part of which policy produced something. */
export interface RuleOrigin {
  /** `namespace/name`, or the name of a clusterwide policy. */
  readonly policy: string;
  readonly kind: PolicyKind;
  /** Path in the document: "spec", "specs[1]", or down to an item: "spec.ingress[0]". */
  readonly path: string;
}

export interface CompiledPeer {
  /** How traces show the peer: `{"matchLabels":...}` or `entity world`. */
  readonly text: string;
  /** The peer is every identity one of these selects. */
  readonly selectors: readonly EndpointSelector[];
  /** Matches every identity, known now or later: resolve writes it as identity 0. */
  readonly wildcard: boolean;
}

export interface CompiledPort {
  /** IP protocol number, 0 for any. */
  readonly protocol: number;
  /** 0 for any port. */
  readonly port: number;
  readonly endPort: number;
  /** As traces show it: `80/TCP`, `8000-8080/ANY`. */
  readonly text: string;
}

export interface CompiledItem {
  readonly origin: RuleOrigin;
  readonly deny: boolean;
  readonly peers: readonly CompiledPeer[];
  /** Every port when the item has no toPorts. */
  readonly ports: readonly CompiledPort[];
}

export interface CompiledDirection {
  /** The rule has a non-empty list of allow or deny items in this direction. */
  readonly present: boolean;
  /** Present, and enableDefaultDeny does not turn default-deny off. */
  readonly defaultDeny: boolean;
  /** Deny items first, then allow items, each in document order. */
  readonly items: readonly CompiledItem[];
}

export interface CompiledRule {
  readonly origin: RuleOrigin;
  readonly subject: EndpointSelector;
  readonly ingress: CompiledDirection;
  readonly egress: CompiledDirection;
}

const ALL_PORTS: CompiledPort = { protocol: 0, port: ANY_PORT, endPort: ANY_PORT, text: "0/ANY" };
const EVERY_PEER: CompiledPeer = { text: "every peer", selectors: [{ matchLabels: {}, matchExpressions: [] }], wildcard: true };

/** Checks the options and fills in defaults; throws a RangeError naming the bad value. */
export function checkResolveOptions(options: ResolveOptions): Required<ResolveOptions> {
  const why = typeof options.localCluster === "string" ? clusterNameProblem(options.localCluster) : "it must be a string";
  if (why !== undefined) throw new RangeError(`localCluster ${JSON.stringify(options.localCluster)} is not a cluster name: ${why}`);
  return { localCluster: options.localCluster, defaultLocalCluster: options.defaultLocalCluster ?? true };
}

function compilePeers(peer: PeerRule, namespace: string | undefined, options: Required<ResolveOptions>): CompiledPeer[] {
  if (peer.endpoints === undefined && peer.entities === undefined) return peer.toPorts.length > 0 ? [EVERY_PEER] : [];
  if (peer.endpoints?.length === 0 || peer.entities?.length === 0) return [];
  const scope = { namespace, cluster: options.defaultLocalCluster ? options.localCluster : undefined };
  const out: CompiledPeer[] = [];
  for (const s of peer.endpoints ?? []) {
    const selector = scopePeerSelector(s, scope);
    out.push({ text: formatSelector(selector), selectors: [selector], wildcard: isWildcardSelector(selector) });
  }
  for (const entity of peer.entities ?? []) out.push(entityPeer(entity, options.localCluster));
  return out;
}

function entityPeer(entity: Entity, localCluster: string): CompiledPeer {
  const selectors = entitySelectors(entity, localCluster);
  return { text: `entity ${entity}`, selectors, wildcard: selectors.some(isWildcardSelector) };
}

function compilePorts(peer: PeerRule): CompiledPort[] {
  if (peer.toPorts.length === 0) return [ALL_PORTS];
  return peer.toPorts.flatMap((r) =>
    r.ports.map((p) => {
      // Port 0 means every port, whatever endPort says.
      const endPort = p.port === ANY_PORT ? ANY_PORT : p.endPort;
      const range = endPort === p.port ? String(p.port) : `${p.port}-${endPort}`;
      return { protocol: protocolNumber(p.protocol), port: p.port, endPort, text: `${range}/${p.protocol}` };
    }),
  );
}

function compileDirection(policy: NetworkPolicy, rule: PolicyRule, allow: Section, deny: Section, options: Required<ResolveOptions>): CompiledDirection {
  const items: CompiledItem[] = [];
  const name = policyName(policy);
  for (const [section, isDeny] of [[deny, true], [allow, false]] as const) {
    rule[section].forEach((peer, i) => {
      items.push({
        origin: { policy: name, kind: policy.kind, path: `${rule.path}.${section}[${i}]` },
        deny: isDeny,
        peers: compilePeers(peer, policy.namespace, options),
        ports: compilePorts(peer),
      });
    });
  }
  const present = rule[allow].length > 0 || rule[deny].length > 0;
  const direction: Direction = allow === "ingress" ? "ingress" : "egress";
  return { present, defaultDeny: present && (rule.enableDefaultDeny[direction] ?? true), items };
}

/** Compiles every rule of every policy, in order. */
export function compilePolicies(policies: readonly NetworkPolicy[], options: ResolveOptions): CompiledRule[] {
  const opts = checkResolveOptions(options);
  return policies.flatMap((policy) =>
    policy.rules.map((rule) => ({
      origin: { policy: policyName(policy), kind: policy.kind, path: rule.path },
      subject: scopeSubjectSelector(rule.endpointSelector, policy.namespace),
      ingress: compileDirection(policy, rule, "ingress", "ingressDeny", opts),
      egress: compileDirection(policy, rule, "egress", "egressDeny", opts),
    })),
  );
}

/** True when an identity with these labels is one of the peer's. */
export function peerMatches(peer: CompiledPeer, labels: readonly Label[]): boolean {
  return peer.wildcard || peer.selectors.some((s) => selectorMatches(s, labels));
}

/** True when the port entry covers this protocol number and destination port. */
export function portCovers(entry: CompiledPort, protocol: number, port: number): boolean {
  if (entry.protocol !== 0 && entry.protocol !== protocol) return false;
  return entry.port === ANY_PORT || (port >= entry.port && port <= entry.endPort);
}

/** `default/allow-web spec.ingress[0]`: an origin as one phrase. */
export function describeOrigin(origin: RuleOrigin): string {
  return `${origin.policy} ${origin.path}`;
}
