import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_CASES, type ConnectivityCase } from "./cases.js";
import { planTest, type TestEnv } from "./plan.js";
import { ENV } from "./testing/env.js";

const byName = (n: string) => DEFAULT_CASES.find((c) => c.name === n)!;
const actions = (c: ConnectivityCase, env: TestEnv = ENV) => {
  const p = planTest(c, env);
  assert.ok("actions" in p, `expected actions, got skipped: ${"skipped" in p ? p.skipped : ""}`);
  return p.actions;
};

test("the default case names are unique", () => {
  assert.equal(new Set(DEFAULT_CASES.map((c) => c.name)).size, DEFAULT_CASES.length);
});

test("pod to pod on the same node and on another node pick the echo pods by the client's node", () => {
  const same = actions(byName("pod-to-pod-same-node"));
  assert.deepEqual(same.map((a) => [a.id, a.destination.ip, a.protocol]), [["pod-to-pod-same-node/icmp-0", "100.65.0.3", "icmp"], ["pod-to-pod-same-node/http-0", "100.65.0.3", "http"]]);
  assert.equal(same[0]!.source.netns, "pod-client");
  assert.deepEqual(same[1]!.answeredBy, { pod: "echo-1" });
  assert.deepEqual(actions(byName("pod-to-pod-other-node")).map((a) => a.destination.ip), ["100.65.1.3", "100.65.1.3"]);
});

test("pod to pod in the other cluster probes every remote echo pod by ICMP and HTTP", () => {
  const a = actions(byName("pod-to-pod-other-cluster"));
  assert.deepEqual(a.map((x) => x.id), ["pod-to-pod-other-cluster/icmp-0", "pod-to-pod-other-cluster/http-0", "pod-to-pod-other-cluster/icmp-1", "pod-to-pod-other-cluster/http-1"]);
  assert.match(a[0]!.destination.name, /echo-x \(cluster-2\/node-1\)/);
});

test("services are probed by HTTP only, each at the address the case names", () => {
  const [svc] = actions(byName("pod-to-service"));
  assert.deepEqual([svc!.destination.ip, svc!.destination.port, svc!.answeredBy], ["198.19.1.2", 80, { cluster: "cluster-1" }]);
  const [global] = actions(byName("pod-to-global-service-remote-backends"));
  assert.deepEqual([global!.destination.ip, global!.answeredBy], ["198.19.1.3", { cluster: "cluster-2" }]);
  const [lb] = actions(byName("admin-to-loadbalancer"));
  assert.deepEqual([lb!.source.kind, lb!.source.netns, lb!.destination.ip], ["admin", undefined, "198.19.1.130"]);
  assert.deepEqual(actions(byName("admin-to-nodeport")).map((x) => `${x.destination.ip}:${x.destination.port}`), ["198.18.1.11:30001", "198.18.1.12:30001"]);
});

test("node to pod runs in the client's node namespace", () => {
  const a = actions(byName("node-to-pod"));
  assert.ok(a.every((x) => x.source.netns === "trl-c1-n1" && x.source.name === "cluster-1/node-1"));
  assert.equal(a.length, 4);
});

test("cross-cluster cases are skipped without --multi-cluster, node cases without a node namespace", () => {
  const single: TestEnv = { ...ENV, remote: undefined };
  for (const n of ["pod-to-pod-other-cluster", "pod-to-global-service-remote-backends"]) {
    const p = planTest(byName(n), single);
    assert.ok("skipped" in p && /--multi-cluster/.test(p.skipped), n);
  }
  const noNetns: TestEnv = { ...ENV, local: { ...ENV.local, nodes: ENV.local.nodes.map((n) => ({ ...n, netns: undefined })) } };
  const p = planTest(byName("node-to-pod"), noNetns);
  assert.ok("skipped" in p && /network namespace of node node-1/.test(p.skipped));
});

test("a cluster of one node skips the other-node case and says why", () => {
  const one: TestEnv = { ...ENV, local: { ...ENV.local, echo: [ENV.local.echo[0]!] } };
  const p = planTest(byName("pod-to-pod-other-node"), one);
  assert.ok("skipped" in p && /no echo pod on a node other than node-1/.test(p.skipped));
});

test("a policy case appended later carries its expectation into every action", () => {
  const deny: ConnectivityCase = { name: "pod-to-pod-other-cluster-denied", source: { kind: "pod", deployment: "client" }, destination: { kind: "pod", cluster: "remote", node: "all" }, protocols: ["http"], expect: "drop" };
  assert.ok(actions(deny).every((a) => a.expect === "drop"));
});
