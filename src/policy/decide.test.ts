import assert from "node:assert/strict";
import { test } from "node:test";
import type { RuleOrigin } from "./compile.js";
import { decide, decideFlow, explainDecision } from "./decide.js";
import type { DirectionPolicy } from "./resolve.js";

const allowWeb: RuleOrigin = { policy: "default/web", kind: "CiliumNetworkPolicy", path: "spec.ingress[0]" };
const denySsh: RuleOrigin = { policy: "default/no-ssh", kind: "CiliumNetworkPolicy", path: "spec.ingressDeny[0]" };
const webRule: RuleOrigin = { policy: "default/web", kind: "CiliumNetworkPolicy", path: "spec" };

function policy(enforced: boolean, allow: Record<string, RuleOrigin[]>, deny: Record<string, RuleOrigin[]> = {}): DirectionPolicy {
  return {
    enforced,
    allow: new Set(Object.keys(allow)),
    deny: new Set(Object.keys(deny)),
    reasons: { allow: new Map(Object.entries(allow)), deny: new Map(Object.entries(deny)) },
    selectedBy: enforced ? [webRule] : [],
  };
}

test("deny first, then allow when enforced, then default deny", () => {
  const p = policy(true, { "65537/0/0": [allowWeb] }, { "65537/6/22": [denySsh] });
  assert.deepEqual(decide(65537, p, "TCP", 22), { verdict: "denied", reason: "denied-by-rule", keys: ["65537/6/22"], rules: [denySsh] });
  assert.deepEqual(decide(65537, p, "TCP", 80), { verdict: "allowed", reason: "allowed-by-rule", keys: ["65537/0/0"], rules: [allowWeb] });
  assert.deepEqual(decide(65538, p, "TCP", 80), { verdict: "denied", reason: "default-deny", keys: [], rules: [webRule] });
});

test("an unenforced direction passes everything no deny key covers", () => {
  const p = policy(false, {}, { "2/0/0": [denySsh] });
  assert.equal(decide(65538, p, "UDP", 53).reason, "not-enforced");
  assert.equal(decide(65538, p, "UDP", 53).verdict, "allowed");
  assert.equal(decide(2, p, "UDP", 53).verdict, "denied");
});

test("ICMP has no port: only any-port keys cover it", () => {
  const p = policy(true, { "65537/6/80": [allowWeb], "65538/0/0": [allowWeb] });
  assert.equal(decide(65537, p, "ICMP", 0).verdict, "denied");
  assert.equal(decide(65538, p, "ICMP", 8).verdict, "allowed");
});

test("a flow passes only when both ends let it", () => {
  const open = policy(false, {});
  const closed = policy(true, {});
  assert.equal(decideFlow({ srcIdentity: 1, dstIdentity: 2, protocol: "TCP", port: 80, srcEgress: open, dstIngress: open }).verdict, "allowed");
  const d = decideFlow({ srcIdentity: 1, dstIdentity: 2, protocol: "TCP", port: 80, srcEgress: closed, dstIngress: open });
  assert.equal(d.verdict, "denied");
  assert.equal(d.egress?.reason, "default-deny");
  assert.equal(decideFlow({ srcIdentity: 1, dstIdentity: 2, protocol: "TCP", port: 80 }).verdict, "allowed", "no local end: nothing to enforce here");
});

test("bad flows are refused with the value given", () => {
  const p = policy(true, {});
  assert.throws(() => decide(-3, p, "TCP", 80), /peer identity must be a non-negative integer \(got -3\)/);
  assert.throws(() => decide(1, p, "TCP", 65536), /port must be 0-65535 \(got 65536\)/);
  assert.throws(() => decide(1, p, "GRE" as "TCP", 0), /protocol must be one of TCP, UDP, SCTP, ICMP \(got "GRE"\)/);
});

test("explainDecision names the rules", () => {
  const p = policy(true, { "65537/0/0": [allowWeb] }, { "65537/6/22": [denySsh] });
  assert.equal(explainDecision(decide(65537, p, "TCP", 22), "ingress"), "ingress denied by default/no-ssh spec.ingressDeny[0]");
  assert.equal(explainDecision(decide(65537, p, "TCP", 80), "ingress"), "ingress allowed by default/web spec.ingress[0]");
  assert.equal(explainDecision(decide(9, p, "TCP", 80), "ingress"), "ingress denied: no rule allows it, and default/web spec enforces ingress policy on the endpoint");
  assert.equal(explainDecision(decide(9, policy(false, {}), "TCP", 80), "egress"), "egress allowed: no policy enforces egress on the endpoint");
});
