import { describeOrigin, type RuleOrigin } from "./compile.js";
import type { Direction } from "./model.js";
import { ANY_IDENTITY, ANY_PORT, ANY_PROTOCOL, keyCovers, parsePolicyKey, PROTOCOL_NUMBERS, type FlowProtocol, type PolicyKey } from "./policy-key.js";
import type { DirectionPolicy } from "./resolve.js";

/**
 * The verdict for one flow in one direction of one endpoint, from its resolved key sets, in the
 * order the datapath applies them: a covering deny key drops the flow whatever else says; then,
 * when the direction is enforced, a covering allow key passes it and anything else is dropped;
 * an unenforced direction passes everything not denied.
 */

export type Verdict = "allowed" | "denied";

export type DecisionReason =
  /** A deny key covers the flow. */
  | "denied-by-rule"
  /** The direction is enforced and an allow key covers the flow. */
  | "allowed-by-rule"
  /** The direction is enforced and no allow key covers the flow. */
  | "default-deny"
  /** No rule enforces this direction on the endpoint (or every selecting rule disabled default deny). */
  | "not-enforced";

export interface Decision {
  readonly verdict: Verdict;
  readonly reason: DecisionReason;
  /** The keys that covered the flow: deny keys for a denial by rule, allow keys otherwise. */
  readonly keys: readonly PolicyKey[];
  /** The rule items behind `keys`; for default-deny, the rules that enforce the direction. */
  readonly rules: readonly RuleOrigin[];
}

function checkFlow(peerIdentity: number, protocol: FlowProtocol, port: number): number {
  if (!Number.isInteger(peerIdentity) || peerIdentity < 0) throw new RangeError(`peer identity must be a non-negative integer (got ${peerIdentity})`);
  if (!Object.hasOwn(PROTOCOL_NUMBERS, protocol)) throw new RangeError(`protocol must be one of ${Object.keys(PROTOCOL_NUMBERS).join(", ")} (got ${JSON.stringify(protocol)})`);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`port must be 0-65535 (got ${port})`);
  return PROTOCOL_NUMBERS[protocol];
}

const rangeKeys = new WeakMap<ReadonlySet<PolicyKey>, PolicyKey[]>();

/** Keys of the set that cover the flow: the exact and wildcard keys by lookup, port ranges by scan. */
function covering(keys: ReadonlySet<PolicyKey>, identity: number, protocol: number, port: number): PolicyKey[] {
  const out: PolicyKey[] = [];
  for (const id of identity === ANY_IDENTITY ? [ANY_IDENTITY] : [identity, ANY_IDENTITY]) {
    for (const proto of protocol === ANY_PROTOCOL ? [ANY_PROTOCOL] : [protocol, ANY_PROTOCOL]) {
      for (const p of port === ANY_PORT ? [ANY_PORT] : [port, ANY_PORT]) {
        const key = `${id}/${proto}/${p}`;
        if (keys.has(key)) out.push(key);
      }
    }
  }
  let ranges = rangeKeys.get(keys);
  if (ranges === undefined) {
    ranges = [...keys].filter((k) => k.includes("-"));
    rangeKeys.set(keys, ranges);
  }
  for (const k of ranges) if (keyCovers(parsePolicyKey(k), identity, protocol, port)) out.push(k);
  return out;
}

function originsOf(keys: readonly PolicyKey[], reasons: ReadonlyMap<PolicyKey, readonly RuleOrigin[]>): RuleOrigin[] {
  const out: RuleOrigin[] = [];
  for (const k of keys) for (const o of reasons.get(k) ?? []) if (!out.includes(o)) out.push(o);
  return out;
}

/**
 * Decides a flow against one direction of an endpoint's policy. `peerIdentity` is the other end:
 * the source for ingress, the destination for egress. ICMP carries no port: pass 0.
 */
export function decide(peerIdentity: number, policy: DirectionPolicy, protocol: FlowProtocol, port: number): Decision {
  const proto = checkFlow(peerIdentity, protocol, port);
  const dport = protocol === "ICMP" ? 0 : port;
  const denied = covering(policy.deny, peerIdentity, proto, dport);
  if (denied.length > 0) return { verdict: "denied", reason: "denied-by-rule", keys: denied, rules: originsOf(denied, policy.reasons.deny) };
  const allowed = covering(policy.allow, peerIdentity, proto, dport);
  if (!policy.enforced) return { verdict: "allowed", reason: "not-enforced", keys: allowed, rules: originsOf(allowed, policy.reasons.allow) };
  if (allowed.length > 0) return { verdict: "allowed", reason: "allowed-by-rule", keys: allowed, rules: originsOf(allowed, policy.reasons.allow) };
  return { verdict: "denied", reason: "default-deny", keys: [], rules: policy.selectedBy };
}

export interface Flow {
  readonly srcIdentity: number;
  readonly dstIdentity: number;
  readonly protocol: FlowProtocol;
  readonly port: number;
  /** The source's egress policy when the source is a local endpoint of the deciding cluster. */
  readonly srcEgress?: DirectionPolicy;
  /** The destination's ingress policy when the destination is a local endpoint. */
  readonly dstIngress?: DirectionPolicy;
}

export interface FlowDecision {
  readonly verdict: Verdict;
  readonly egress?: Decision;
  readonly ingress?: Decision;
}

/** Both ends of a flow: it passes only when the source may send it and the destination may receive it. */
export function decideFlow(flow: Flow): FlowDecision {
  const out: { verdict: Verdict; egress?: Decision; ingress?: Decision } = { verdict: "allowed" };
  if (flow.srcEgress) out.egress = decide(flow.dstIdentity, flow.srcEgress, flow.protocol, flow.port);
  if (flow.dstIngress) out.ingress = decide(flow.srcIdentity, flow.dstIngress, flow.protocol, flow.port);
  if (out.egress?.verdict === "denied" || out.ingress?.verdict === "denied") out.verdict = "denied";
  return out;
}

/** One sentence: what decided, and which rules. */
export function explainDecision(decision: Decision, direction: Direction): string {
  const rules = decision.rules.map(describeOrigin).join(", ");
  switch (decision.reason) {
    case "denied-by-rule":
      return `${direction} denied by ${rules}`;
    case "allowed-by-rule":
      return `${direction} allowed by ${rules}`;
    case "default-deny":
      return `${direction} denied: no rule allows it, and ${rules} ${decision.rules.length === 1 ? "enforces" : "enforce"} ${direction} policy on the endpoint`;
    case "not-enforced":
      return `${direction} allowed: no policy enforces ${direction} on the endpoint`;
  }
}
