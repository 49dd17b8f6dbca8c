import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DatapathInputError } from "./errors.js";
import type { DesiredNodeState } from "./types.js";
import { desiredStateIssues, validateDesiredState } from "./validate.js";

const good: DesiredNodeState = {
  mode: "tunnel",
  local: { name: "node-1", cluster: "c1", nodeIP: "198.18.1.11", podCIDR: "100.65.1.0/24", uplink: "eth0" },
  peers: [
    { name: "node-2", cluster: "c1", nodeIP: "198.18.1.12", podCIDR: "100.65.2.0/24" },
    { name: "node-1", cluster: "c2", nodeIP: "198.18.2.11", podCIDR: "100.66.1.0/24" },
  ],
  endpoints: [{ ip: "100.65.1.10", hostIfName: "trl0123456789a", containerId: "abc" }],
};

describe("validating a desired node state", () => {
  test("a well-formed state has no issues (same node name in two clusters is fine)", () => {
    assert.deepEqual(desiredStateIssues(good), []);
    assert.doesNotThrow(() => validateDesiredState(good));
  });

  test("each bad field is named with the value given", () => {
    const cases: [string, DesiredNodeState, RegExp][] = [
      ["mode", { ...good, mode: "overlay" as never }, /mode "overlay" must be "tunnel" or "native"/],
      ["node IP", { ...good, local: { ...good.local, nodeIP: "198.18.1" } }, /local node "node-1": nodeIP "198\.18\.1" is not an IPv4 address/],
      ["pod CIDR host bits", { ...good, local: { ...good.local, podCIDR: "100.65.1.1/24" } }, /podCIDR "100\.65\.1\.1\/24" is not an IPv4 network/],
      ["uplink", { ...good, local: { ...good.local, uplink: "eth 0" } }, /uplink "eth 0" is not an interface name/],
      ["underlay MTU", { ...good, local: { ...good.local, underlayMtu: 100 } }, /underlayMtu 100 must be an integer from 118 to 65535/],
      ["peer IP", { ...good, peers: [{ ...good.peers[0]!, nodeIP: "198.18.1.300" }] }, /peers\[0\] \(c1\/node-2\): nodeIP "198\.18\.1\.300" is not an IPv4 address/],
      ["peer is us", { ...good, peers: [{ ...good.peers[0]!, nodeIP: "198.18.1.11" }] }, /nodeIP "198\.18\.1\.11" is the local node's own IP/],
      ["peer overlaps local", { ...good, peers: [{ ...good.peers[0]!, podCIDR: "100.65.0.0/16" }] }, /podCIDR "100\.65\.0\.0\/16" overlaps the local pod CIDR "100\.65\.1\.0\/24"/],
      ["peer twice", { ...good, peers: [good.peers[0]!, { ...good.peers[0]!, podCIDR: "100.65.9.0/24" }] }, /peers\[1\] \(c1\/node-2\): the same node as peers\[0\]/],
      ["endpoint outside", { ...good, endpoints: [{ ip: "100.65.2.10", hostIfName: "trl1" }] }, /endpoints\[0\]: ip "100\.65\.2\.10" is outside the local pod CIDR "100\.65\.1\.0\/24"/],
      ["endpoint router", { ...good, endpoints: [{ ip: "100.65.1.1", hostIfName: "trl1" }] }, /ip "100\.65\.1\.1" is the router IP 100\.65\.1\.1/],
      ["endpoint veth", { ...good, endpoints: [{ ip: "100.65.1.10", hostIfName: "a-very-long-interface" }] }, /hostIfName "a-very-long-interface" is not an interface name/],
      ["endpoint twice", { ...good, endpoints: [good.endpoints[0]!, { ...good.endpoints[0]!, hostIfName: "trl2" }] }, /endpoints\[1\] \(container abc\): ip "100\.65\.1\.10" is already used by endpoints\[0\]/],
    ];
    for (const [what, state, message] of cases) {
      const issues = desiredStateIssues(state);
      assert.equal(issues.length, 1, `${what}: ${issues.join(" | ")}`);
      assert.match(issues[0]!, message, what);
    }
  });

  test("overlapping peer pod CIDRs are found among many, naming both peers", () => {
    const peers = Array.from({ length: 1000 }, (_, i) => ({ name: `n${i}`, cluster: "c2", nodeIP: `198.18.${2 + (i >> 8)}.${i & 255}`, podCIDR: `100.${80 + (i >> 8)}.${i & 255}.0/24` }));
    peers[700] = { ...peers[700]!, podCIDR: "100.80.0.0/16" };
    const issues = desiredStateIssues({ ...good, peers });
    assert.ok(issues.length >= 1);
    assert.ok(issues.every((i) => /overlaps peers\[\d+\]'s podCIDR/.test(i)), issues.join("\n"));
    assert.ok(issues.some((i) => i.includes("peers[700]")));
  });

  test("validateDesiredState throws one error listing every issue", () => {
    const bad = { ...good, mode: "x" as never, local: { ...good.local, nodeIP: "nope" } };
    assert.throws(
      () => validateDesiredState(bad),
      (e: unknown) => e instanceof DatapathInputError && e.issues.length === 2 && !e.retryable && /mode "x"/.test(e.message) && /nodeIP "nope"/.test(e.message),
    );
  });
});
