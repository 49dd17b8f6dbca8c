import type { Label } from "../state/labels.js";
import { compilePolicies, peerMatches, type CompiledRule, type ResolveOptions } from "./compile.js";
import type { NetworkPolicy } from "./model.js";
import { selectorMatches } from "./selector.js";

/**
 * Which endpoints need their policy recomputed after a change, so an agent does not re-resolve
 * every endpoint on every identity or policy event. Over-reporting is safe (a recomputation that
 * changes nothing); under-reporting is not, so each helper errs on the side of "affected".
 */

export interface LabelledEndpoint {
  readonly labels: readonly Label[];
}

function hasDirection(rule: CompiledRule): boolean {
  return rule.ingress.present || rule.egress.present;
}

/**
 * Endpoints whose policy names a peer selector that matches an identity with these labels, i.e.
 * the endpoints whose key sets gain or lose that identity when it appears or disappears. Wildcard
 * peers (identity 0) already cover it, so they do not count.
 */
export function endpointsAffectedByIdentity<T extends LabelledEndpoint>(
  policies: readonly NetworkPolicy[],
  endpoints: Iterable<T>,
  identityLabels: readonly Label[],
  options: ResolveOptions,
): T[] {
  const rules = compilePolicies(policies, options).filter((r) =>
    [r.ingress, r.egress].some((d) => d.items.some((item) => item.peers.some((p) => !p.wildcard && peerMatches(p, identityLabels)))),
  );
  if (rules.length === 0) return [];
  return [...endpoints].filter((ep) => rules.some((r) => selectorMatches(r.subject, ep.labels)));
}

/**
 * Endpoints a policy change reaches: those selected by the policy before or after the change
 * (a rule without any ingress or egress section changes nothing). Pass `before` alone for a
 * deletion, `after` alone for a new policy.
 */
export function endpointsAffectedByPolicy<T extends LabelledEndpoint>(
  change: { readonly before?: NetworkPolicy; readonly after?: NetworkPolicy },
  endpoints: Iterable<T>,
  options: ResolveOptions,
): T[] {
  const policies = [change.before, change.after].filter((p): p is NetworkPolicy => p !== undefined);
  const rules = compilePolicies(policies, options).filter(hasDirection);
  if (rules.length === 0) return [];
  return [...endpoints].filter((ep) => rules.some((r) => selectorMatches(r.subject, ep.labels)));
}
