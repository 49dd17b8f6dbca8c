import { IDENTITY_UNKNOWN, RESERVED_IDENTITIES } from "../cluster/index.js";
import { LABEL_SOURCE_K8S, POLICY_CLUSTER_LABEL, labelToString, parseLabel, type Label } from "../state/labels.js";
import { checkResolveOptions, compilePolicies, peerMatches, type CompiledPeer, type CompiledRule, type ResolveOptions, type RuleOrigin } from "./compile.js";
import type { Direction, NetworkPolicy } from "./model.js";
import { ANY_IDENTITY, policyKey, type PolicyKey } from "./policy-key.js";
import { selectorMatches } from "./selector.js";

/**
 * An endpoint's policy, computed from every policy of its cluster and the identities known there
 * (local ones and those KVStoreMesh brought from peers). Policies never leave their cluster: each
 * cluster resolves its own endpoints against its own policies.
 *
 * Per direction, as Cilium decides it: the direction is enforced (default deny) when a rule that
 * selects the endpoint has a non-empty ingress/ingressDeny (egress/egressDeny) list and does not
 * switch enableDefaultDeny off for it. Deny keys apply whether or not the direction is enforced,
 * and a deny key beats any allow key (decide.ts).
 */

/** Identity number -> its labels, as the identity watchers keep them. */
export type IdentityCache = ReadonlyMap<number, readonly Label[]>;

const RESERVED: IdentityCache = new Map(RESERVED_IDENTITIES.filter((r) => r.id !== IDENTITY_UNKNOWN).map((r) => [r.id, r.labels.map(parseLabel)]));

/** The fixed identities (host, world, remote-node, ...) with their labels; every cluster has them. */
export function reservedIdentityLabels(): IdentityCache {
  return RESERVED;
}

export interface DirectionPolicy {
  /** Default deny: traffic no allow key covers is dropped. */
  readonly enforced: boolean;
  readonly allow: ReadonlySet<PolicyKey>;
  readonly deny: ReadonlySet<PolicyKey>;
  /** For every key, the rule items that produced it: what decide and trace report. */
  readonly reasons: {
    readonly allow: ReadonlyMap<PolicyKey, readonly RuleOrigin[]>;
    readonly deny: ReadonlyMap<PolicyKey, readonly RuleOrigin[]>;
  };
  /** Rules (policy + "spec"/"specs[i]") that select the endpoint and have this direction. */
  readonly selectedBy: readonly RuleOrigin[];
}

export interface EndpointPolicy {
  readonly ingress: DirectionPolicy;
  readonly egress: DirectionPolicy;
}

/**
 * Resolves endpoint policies for one snapshot of a cluster's policies and identity cache. Which
 * identities each peer selects is computed once per snapshot and shared by every endpoint, so
 * resolving all endpoints of a node costs one pass over the identities per selector.
 */
export class PolicyResolver {
  readonly rules: readonly CompiledRule[];
  private readonly options: Required<ResolveOptions>;
  private readonly identities: readonly (readonly [number, readonly Label[]])[];
  // Keyed by the peer's text, which spells out its scoped selectors: the same selector (or entity)
  // in many policies is matched against the identities once.
  private readonly selected = new Map<string, readonly number[]>();
  // Endpoints with the same labels share an identity and therefore a policy.
  private readonly resolved = new Map<string, EndpointPolicy>();

  constructor(policies: readonly NetworkPolicy[], identities: IdentityCache, options: ResolveOptions) {
    this.options = checkResolveOptions(options);
    this.rules = compilePolicies(policies, this.options);
    const all = new Map(RESERVED);
    for (const [id, labels] of identities) if (id !== ANY_IDENTITY) all.set(id, labels);
    this.identities = [...all];
  }

  /** The policy of a local endpoint with these labels. Throws a RangeError for another cluster's endpoint. */
  resolve(endpointLabels: readonly Label[]): EndpointPolicy {
    const cluster = endpointLabels.find((l) => l.source === LABEL_SOURCE_K8S && l.key === POLICY_CLUSTER_LABEL);
    if (cluster !== undefined && cluster.value !== this.options.localCluster) {
      throw new RangeError(
        `policies stay in their cluster: the endpoint belongs to cluster ${JSON.stringify(cluster.value)}, but these are the policies of cluster ${JSON.stringify(this.options.localCluster)}`,
      );
    }
    const memoKey = endpointLabels.map(labelToString).sort().join(";");
    let policy = this.resolved.get(memoKey);
    if (policy === undefined) {
      const selecting = this.rules.filter((r) => selectorMatches(r.subject, endpointLabels));
      policy = { ingress: this.direction(selecting, "ingress"), egress: this.direction(selecting, "egress") };
      this.resolved.set(memoKey, policy);
    }
    return policy;
  }

  /** The identities (numbers) a peer selects; identity 0 alone for a wildcard peer. */
  peerIdentities(peer: CompiledPeer): readonly number[] {
    if (peer.wildcard) return [ANY_IDENTITY];
    let ids = this.selected.get(peer.text);
    if (ids === undefined) {
      ids = this.identities.filter(([, labels]) => peerMatches(peer, labels)).map(([id]) => id);
      this.selected.set(peer.text, ids);
    }
    return ids;
  }

  private direction(rules: readonly CompiledRule[], dir: Direction): DirectionPolicy {
    const allow = new Map<PolicyKey, RuleOrigin[]>();
    const deny = new Map<PolicyKey, RuleOrigin[]>();
    const selectedBy: RuleOrigin[] = [];
    let enforced = false;
    for (const rule of rules) {
      const d = rule[dir];
      if (!d.present) continue;
      selectedBy.push(rule.origin);
      if (d.defaultDeny) enforced = true;
      for (const item of d.items) {
        const target = item.deny ? deny : allow;
        const ids = new Set(item.peers.flatMap((p) => this.peerIdentities(p)));
        // Ports were validated when the policy was parsed; only the identity varies per key.
        const suffixes = item.ports.map((p) => policyKey(ANY_IDENTITY, p.protocol, p.port, p.endPort).slice(1));
        for (const id of ids) {
          for (const suffix of suffixes) {
            const key = `${id}${suffix}`;
            const origins = target.get(key);
            if (origins === undefined) target.set(key, [item.origin]);
            else if (!origins.includes(item.origin)) origins.push(item.origin);
          }
        }
      }
    }
    return { enforced, allow: new Set(allow.keys()), deny: new Set(deny.keys()), reasons: { allow, deny }, selectedBy };
  }
}

/** One endpoint's policy; use a PolicyResolver to resolve many endpoints of one snapshot. */
export function resolveEndpointPolicy(
  policies: readonly NetworkPolicy[],
  identities: IdentityCache,
  endpointLabels: readonly Label[],
  options: ResolveOptions,
): EndpointPolicy {
  return new PolicyResolver(policies, identities, options).resolve(endpointLabels);
}
