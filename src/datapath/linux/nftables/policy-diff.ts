import type { EndpointPolicyRules, NodePolicyState, PolicyDirectionRules } from "../../types.js";

/**
 * The difference between two policy states: what the policy table must gain and lose to go from
 * `applied` to `desired`. Pure, shared by the Linux datapath (which turns it into one nft
 * transaction) and the recording fake (which counts it), so both report the same numbers.
 */
export interface PolicyDiff {
  readonly ipcache: {
    readonly add: readonly (readonly [ip: string, identity: number])[];
    /** An address whose identity changed: the old element goes and the new one comes in one transaction. */
    readonly update: readonly (readonly [ip: string, from: number, to: number])[];
    readonly remove: readonly (readonly [ip: string, identity: number])[];
  };
  readonly endpoints: {
    readonly add: readonly EndpointPolicyRules[];
    readonly update: readonly { readonly from: EndpointPolicyRules; readonly to: EndpointPolicyRules }[];
    readonly remove: readonly EndpointPolicyRules[];
    readonly kept: number;
  };
}

export const EMPTY_POLICY_STATE: NodePolicyState = { ipcache: new Map(), endpoints: [] };

export function diffPolicy(applied: NodePolicyState, desired: NodePolicyState): PolicyDiff {
  return { ipcache: diffIpcache(applied.ipcache, desired.ipcache), endpoints: diffEndpoints(applied.endpoints, desired.endpoints) };
}

/** One pass over `desired`, and a second over `applied` only when some address is gone (100,000 entries: each pass ~10 ms). */
export function diffIpcache(applied: ReadonlyMap<string, number>, desired: ReadonlyMap<string, number>): PolicyDiff["ipcache"] {
  const add: [string, number][] = [];
  const update: [string, number, number][] = [];
  const remove: [string, number][] = [];
  let found = 0;
  for (const [ip, identity] of desired) {
    const was = applied.get(ip);
    if (was === undefined) add.push([ip, identity]);
    else {
      found++;
      if (was !== identity) update.push([ip, was, identity]);
    }
  }
  if (found < applied.size) for (const [ip, identity] of applied) if (!desired.has(ip)) remove.push([ip, identity]);
  return { add, update, remove };
}

export function diffEndpoints(applied: readonly EndpointPolicyRules[], desired: readonly EndpointPolicyRules[]): PolicyDiff["endpoints"] {
  const before = new Map(applied.map((ep) => [ep.hostIfName, ep]));
  const wanted = new Set(desired.map((ep) => ep.hostIfName));
  const epAdd: EndpointPolicyRules[] = [];
  const epUpdate: { from: EndpointPolicyRules; to: EndpointPolicyRules }[] = [];
  let kept = 0;
  for (const ep of desired) {
    const was = before.get(ep.hostIfName);
    if (!was) epAdd.push(ep);
    else if (sameEndpointRules(was, ep)) kept++;
    else epUpdate.push({ from: was, to: ep });
  }
  const epRemove = applied.filter((ep) => !wanted.has(ep.hostIfName));
  return { add: epAdd, update: epUpdate, remove: epRemove, kept };
}

export function policyDiffIsEmpty(diff: PolicyDiff): boolean {
  const { ipcache: c, endpoints: e } = diff;
  return c.add.length + c.update.length + c.remove.length + e.add.length + e.update.length + e.remove.length === 0;
}

export function sameEndpointRules(a: EndpointPolicyRules, b: EndpointPolicyRules): boolean {
  return a.hostIfName === b.hostIfName && a.ip === b.ip && sameDirection(a.ingress, b.ingress) && sameDirection(a.egress, b.egress);
}

function sameDirection(a: PolicyDirectionRules, b: PolicyDirectionRules): boolean {
  return a.enforced === b.enforced && sameSet(a.allow, b.allow) && sameSet(a.deny, b.deny);
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

/** A copy the caller cannot change afterwards (the record of what was applied must not move with the caller's objects). */
export function copyPolicyState(state: NodePolicyState): NodePolicyState {
  return { ipcache: new Map(state.ipcache), endpoints: copyEndpoints(state.endpoints) };
}

export function copyEndpoints(endpoints: readonly EndpointPolicyRules[]): EndpointPolicyRules[] {
  return endpoints.map((ep) => ({
      hostIfName: ep.hostIfName,
      ip: ep.ip,
      ingress: copyDirection(ep.ingress),
      egress: copyDirection(ep.egress),
  }));
}

function copyDirection(d: PolicyDirectionRules): PolicyDirectionRules {
  return { enforced: d.enforced, allow: new Set(d.allow), deny: new Set(d.deny) };
}

/** The report's counts for a diff. */
export function policyCounts(diff: PolicyDiff): {
  ipcache: { added: number; updated: number; removed: number };
  endpoints: { added: number; updated: number; removed: number; kept: number };
} {
  return {
    ipcache: { added: diff.ipcache.add.length, updated: diff.ipcache.update.length, removed: diff.ipcache.remove.length },
    endpoints: {
      added: diff.endpoints.add.length,
      updated: diff.endpoints.update.length,
      removed: diff.endpoints.remove.length,
      kept: diff.endpoints.kept,
    },
  };
}
