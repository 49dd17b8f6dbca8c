import { test } from "node:test";
import assert from "node:assert/strict";
import type { DirectionEnforcement, EndpointView, PolicyRepository } from "../agent/api-types.js";
import { formatEndpointTable, formatIdentityTable, formatPolicyRepository } from "./policy-format.js";

const off: DirectionEnforcement = { enforced: false, allowKeys: 0, denyKeys: 0, selectedBy: [] };
const on: DirectionEnforcement = { enforced: true, allowKeys: 1, denyKeys: 0, selectedBy: ["default/echo spec"] };

function ep(name: string, ip: string, ingress: DirectionEnforcement, egress: DirectionEnforcement): EndpointView & { node: string } {
  return {
    containerId: `${name}0123456789abcdef`,
    ifName: "eth0",
    netns: "/run/netns/x",
    hostIfName: "trl0",
    ip,
    podName: name,
    podNamespace: "default",
    identity: 131073,
    labels: [`k8s:app=${name}`, "k8s:io.cilium.k8s.policy.cluster=cluster-2", "k8s:io.kubernetes.pod.namespace=default"],
    createdAt: "",
    policy: { ingress, egress },
    status: "ready",
    node: "node-1",
  };
}

test("endpoint list: Cilium's two-line policy headers, enforcement per direction, labels one per line", () => {
  const out = formatEndpointTable([ep("echo", "100.66.0.10", on, off), ep("client", "100.66.0.11", off, on)]);
  const lines = out.split("\n");
  assert.match(lines[0]!, /^ENDPOINT\s+NODE\s+POLICY \(ingress\)\s+POLICY \(egress\)\s+IDENTITY\s+LABELS \(source:key\[=value\]\)\s+IPv4\s+STATUS$/);
  assert.match(lines[1]!, /^\s+ENFORCEMENT\s+ENFORCEMENT$/);
  assert.equal(lines[1]!.indexOf("ENFORCEMENT"), lines[0]!.indexOf("POLICY (ingress)"), "the second header line sits under its column");
  assert.match(lines[2]!, /^echo01234567\s+node-1\s+Enabled\s+Disabled\s+131073\s+k8s:app=echo\s+100\.66\.0\.10\s+ready$/);
  assert.match(lines[3]!, /^\s+k8s:io\.cilium\.k8s\.policy\.cluster=cluster-2$/);
  assert.match(out, /client012345\s+node-1\s+Disabled\s+Enabled\s+131073/);
});

test("identity list: the cluster column, reserved identities without one", () => {
  const out = formatIdentityTable([
    { id: 1, labels: ["reserved:host"], source: "reserved" },
    { id: 65538, labels: ["k8s:app=client", "k8s:io.cilium.k8s.policy.cluster=cluster-1"], cluster: "cluster-1", source: "remote" },
  ]);
  assert.equal(out, ["ID      CLUSTER     LABELS", "1       -           reserved:host", "65538   cluster-1   k8s:app=client", "                    k8s:io.cilium.k8s.policy.cluster=cluster-1", ""].join("\n"));
});

test("policy get: the rules as JSON labelled with their policy, what is not enforced and why, then the revision", () => {
  const repo: PolicyRepository = {
    cluster: "cluster-2",
    node: "node-1",
    revision: 3,
    defaultLocalCluster: true,
    policies: [
      { kind: "CiliumNetworkPolicy", name: "echo", namespace: "default", document: { spec: { endpointSelector: { matchLabels: { app: "echo" } }, ingress: [{}] } } },
      { kind: "CiliumClusterwideNetworkPolicy", name: "two", document: { specs: [{ endpointSelector: {} }, { endpointSelector: { matchLabels: { a: "b" } } }] } },
      { kind: "CiliumNetworkPolicy", name: "broken", namespace: "default", document: {}, error: "invalid CiliumNetworkPolicy" },
    ],
    endpoints: [],
  };
  const out = formatPolicyRepository(repo);
  const [json, ...rest] = out.split("\n]\n");
  const rules = JSON.parse(`${json}\n]`) as { endpointSelector: unknown; labels: { key: string; value: string }[] }[];
  assert.equal(rules.length, 3, "one entry per rule: spec, and each of specs");
  assert.deepEqual(rules[0]!.labels.map((l) => `${l.key}=${l.value}`), [
    "io.cilium.k8s.policy.derived-from=CiliumNetworkPolicy",
    "io.cilium.k8s.policy.name=echo",
    "io.cilium.k8s.policy.namespace=default",
  ]);
  assert.equal(rules[2]!.labels.length, 2, "a clusterwide policy has no namespace label");
  assert.equal(rest.join(""), "Not enforced: default/broken (CiliumNetworkPolicy): invalid CiliumNetworkPolicy\nRevision: 3\n");
});
