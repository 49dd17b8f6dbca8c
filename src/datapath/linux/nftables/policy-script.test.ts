import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { EndpointPolicyRules } from "../../types.js";
import { endpointChainRules, endpointStem, planEndpoint, type PlannedEndpoint } from "./policy-layout.js";
import { policyChangeScript, policyRebuildScript } from "./policy-script.js";

const endpoint = (hostIfName: string, ingressAllow: string[], egressEnforced = false): PlannedEndpoint =>
  planEndpoint({
    hostIfName,
    ip: "100.127.1.10",
    ingress: { enforced: true, allow: new Set(ingressAllow), deny: new Set() },
    egress: { enforced: egressEnforced, allow: new Set(), deny: new Set(["65538/0/0"]) },
  } satisfies EndpointPolicyRules);

const lines = (script: string) => script.trimEnd().split("\n");
const indexOf = (script: string, line: string) => {
  const i = lines(script).indexOf(line);
  assert.ok(i >= 0, `missing line: ${line}\n${script}`);
  return i;
};

describe("policy table scripts", () => {
  test("an endpoint's chain: the peer's identity, deny before allow, then drop when enforced", () => {
    const ep = endpoint("trl0123456789a", ["65537/6/80"]);
    assert.deepEqual(endpointChainRules(ep, "in"), [
      "jump ingress_peer",
      "meta mark . meta l4proto . th dport @trl0123456789a_in_deny drop",
      "meta mark . meta l4proto . th dport @trl0123456789a_in_allow meta mark set 0 return",
      "meta mark set 0 drop",
    ]);
    assert.equal(endpointChainRules(ep, "eg")[0], "jump egress_peer");
    assert.equal(endpointChainRules(ep, "eg").at(-1), "meta mark set 0 return");
  });

  test("object names: trl names as they are, anything else hex-encoded so it stays an nft identifier", () => {
    assert.equal(endpointStem("trl0123456789a"), "trl0123456789a");
    assert.equal(endpointStem("veth-x.1"), "_x766574682d782e31");
    assert.notEqual(endpointStem("a@b"), endpointStem("a_b"));
  });

  test("a rebuild replaces any table in one transaction and writes every element; an empty state has no endpoint objects", () => {
    const ep = endpoint("trl0123456789a", ["65537/6/80"]);
    const script = policyRebuildScript(
      new Map([
        ["100.127.1.11", 65537],
        ["100.127.2.10", 65538],
      ]),
      [ep],
    );
    assert.deepEqual(lines(script).slice(0, 3), ["add table ip trellis_policy", "delete table ip trellis_policy", "table ip trellis_policy {"]);
    const set = indexOf(script, "add set ip trellis_policy trl0123456789a_in_allow { type mark . inet_proto . inet_service; flags interval; }");
    const chain = indexOf(script, "add chain ip trellis_policy trl0123456789a_in");
    const jump = indexOf(script, 'add element ip trellis_policy ingress_eps { "trl0123456789a" : jump trl0123456789a_in }');
    assert.ok(set < chain && chain < jump, "sets before the chains that use them, chains before the jumps to them");
    indexOf(script, "add element ip trellis_policy ipcache { 100.127.1.11 : 65537, 100.127.2.10 : 65538 }");
    indexOf(script, "add element ip trellis_policy trl0123456789a_in_allow { 65537-65537 . 6-6 . 80-80 }");
    // Empty sets get no `add element` line: nft refuses an empty element list.
    assert.ok(!script.includes("trl0123456789a_eg_allow {  }") && !script.includes("{ }"));

    const empty = policyRebuildScript(new Map(), []);
    assert.doesNotMatch(empty, /add (set|chain|element)/);
    assert.match(empty, /chain forward \{/);
    // The shared lookups: world first, then the ipcache (no entry leaves world).
    assert.match(empty, /chain ingress_peer \{\n\t\tmeta mark set 2\n\t\tmeta mark set ip saddr map @ipcache\n\t\}/);
    assert.match(empty, /chain egress_peer \{\n\t\tmeta mark set 2\n\t\tmeta mark set ip daddr map @ipcache\n\t\}/);
  });

  test("an identity change is one delete and one add of the ipcache element, in that order", () => {
    const script = policyChangeScript({ ipcache: { remove: ["100.127.1.11"], add: [["100.127.1.11", 65538]] } });
    assert.deepEqual(lines(script), ["delete element ip trellis_policy ipcache { 100.127.1.11 }", "add element ip trellis_policy ipcache { 100.127.1.11 : 65538 }"]);
    assert.equal(policyChangeScript({}), "");
  });

  test("an endpoint update sends only the set elements that differ, and rewrites a chain only when enforcement flips", () => {
    const from = endpoint("trl0123456789a", ["65537/6/80", "65537/6/443"]);
    const to = endpoint("trl0123456789a", ["65537/6/80", "65539/17/53"]);
    assert.deepEqual(lines(policyChangeScript({ updateEndpoints: [{ from, to }] })), [
      "delete element ip trellis_policy trl0123456789a_in_allow { 65537-65537 . 6-6 . 443-443 }",
      "add element ip trellis_policy trl0123456789a_in_allow { 65539-65539 . 17-17 . 53-53 }",
    ]);
    const flipped = policyChangeScript({ updateEndpoints: [{ from, to: endpoint("trl0123456789a", ["65537/6/80", "65537/6/443"], true) }] });
    assert.deepEqual(lines(flipped)[0], "flush chain ip trellis_policy trl0123456789a_eg");
    assert.equal(lines(flipped).at(-1), "add rule ip trellis_policy trl0123456789a_eg meta mark set 0 drop");
    assert.ok(!flipped.includes("trl0123456789a_in"), "the other direction is left alone");
  });

  test("a removed endpoint loses its map elements first, then its chains, then its sets", () => {
    const script = policyChangeScript({ removeEndpoints: [endpoint("trl0123456789a", ["65537/6/80"])] });
    const vmap = indexOf(script, 'delete element ip trellis_policy ingress_eps { "trl0123456789a" }');
    const chain = indexOf(script, "delete chain ip trellis_policy trl0123456789a_in");
    const set = indexOf(script, "delete set ip trellis_policy trl0123456789a_in_allow");
    assert.ok(vmap < chain && chain < set);
    indexOf(script, 'delete element ip trellis_policy egress_eps { "trl0123456789a" }');
  });
});
