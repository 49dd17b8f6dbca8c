import assert from "node:assert/strict";
import { test } from "node:test";
import { MemoryStore } from "../kvstore/memory-store.js";
import { keys } from "../resources/keys.js";
import { parseManifests } from "../resources/manifest.js";
import type { ServiceModel } from "../services/service-list-format.js";
import { TEST_POLICIES } from "./cases.js";
import { applyManifests, changeTestPolicies, deploymentPods, removeTestWorkloads, testManifests, testPolicyDocument, waitForDeployment, waitForService, type TestCluster } from "./workloads.js";

function cluster(
  store: MemoryStore,
  tables: () => ServiceModel[][] = () => [],
  serving: (pod: string) => boolean = () => true,
  policyStatus: () => { node: string; revision: number; pending: boolean }[] = () => [],
): TestCluster {
  return { name: "cluster-1", store, serviceTables: async () => tables(), nodeNetns: (n) => `ns-${n}`, podServing: async (p) => serving(p.name), policyStatus: async () => policyStatus() };
}
const quiet = () => undefined;

test("the client's cluster gets client, one echo pod per node, the LB service and a remote-only global service", () => {
  const m = parseManifests(testManifests("local", "cluster-1", 2, "cluster-2"));
  assert.deepEqual(m.map((x) => `${x.kind}/${x.object.metadata.namespace}/${x.object.metadata.name}`), ["Deployment/trellis-test/echo", "Deployment/trellis-test/client", "Service/trellis-test/echo", "Service/trellis-test/echo-remote"]);
  const [echo, , lb, global] = m.map((x) => x.object as unknown as { spec: Record<string, unknown>; metadata: { annotations?: Record<string, string> } });
  assert.equal(echo!.spec.replicas, 2);
  assert.equal(lb!.spec.type, "LoadBalancer");
  assert.equal(global!.metadata.annotations?.["service.cilium.io/global"], "true");
  // Local echo pods carry test-cluster=cluster-1, so this selector matches only the other cluster's.
  assert.deepEqual(global!.spec.selector, { name: "echo", "test-cluster": "cluster-2" });
  assert.equal(parseManifests(testManifests("local", "cluster-1", 2, undefined)).length, 3, "no global service without a peer");
});

test("the peer gets echo pods and the global service selecting them", () => {
  const m = parseManifests(testManifests("remote", "cluster-2", 3, undefined));
  assert.deepEqual(m.map((x) => x.object.metadata.name), ["echo", "echo-remote"]);
  assert.deepEqual((m[1]!.object as unknown as { spec: { selector: unknown } }).spec.selector, { name: "echo", "test-cluster": "cluster-2" });
});

test("applying writes the objects where apply does, and waiting sees only running pods that serve", async () => {
  const store = new MemoryStore();
  await applyManifests(store, testManifests("local", "cluster-1", 2, undefined));
  assert.ok(await store.get(keys.deployment("trellis-test", "client")));
  assert.ok(await store.get(keys.service("trellis-test", "echo")));
  const pod = (name: string, node: string, phase: string, ip?: string) =>
    Promise.all([
      store.put(keys.pod("trellis-test", name), JSON.stringify({ name, namespace: "trellis-test", node, deployment: "echo", labels: {}, ports: [80], image: "x", createdAt: "" })),
      store.put(keys.podStatus("trellis-test", name), JSON.stringify({ name, namespace: "trellis-test", node, phase, ip, netns: `pod-${name}`, updatedAt: "" })),
    ]);
  await pod("echo-1", "node-1", "Running", "100.65.0.3");
  await pod("echo-2", "node-2", "Pending");
  assert.deepEqual(await deploymentPods(store, "echo"), [{ name: "echo-1", node: "node-1", ip: "100.65.0.3", netns: "pod-echo-1" }]);
  await assert.rejects(waitForDeployment(cluster(store), "echo", 2, 80, 300, quiet), /timed out after 0 s waiting for deployment trellis-test\/echo in cluster-1 to have 2 running pod\(s\) serving port 80/);
  await pod("echo-2", "node-2", "Running", "100.65.1.3");
  await assert.rejects(waitForDeployment(cluster(store, undefined, (p) => p !== "echo-2"), "echo", 2, 80, 300, quiet), /serving port 80/);
  assert.equal((await waitForDeployment(cluster(store), "echo", 2, 80, 2000, quiet)).length, 2);
});

test("a service is ready once every agent has its ClusterIP with the expected active backends", async () => {
  const store = new MemoryStore();
  await store.put(keys.serviceStatus("trellis-test", "echo"), JSON.stringify({ clusterIP: "198.19.1.2", nodePorts: { "80": 30001 }, loadBalancerIPs: ["198.19.1.130"] }));
  const model = (n: number): ServiceModel => {
    const spec = { "backend-addresses": Array.from({ length: n }, (_, i) => ({ ip: `100.65.${i}.3`, port: 80, protocol: "TCP", state: "active" })), flags: { name: "echo", namespace: "trellis-test", type: "LoadBalancer" }, "frontend-address": { ip: "198.19.1.2", port: 80, protocol: "TCP", scope: "external" as const }, id: 1 };
    return { spec, status: { realized: spec } };
  };
  let tables = [[model(2)], [model(1)]];
  await assert.rejects(waitForService(cluster(store, () => tables), "echo", 2, { loadBalancer: true }, 300, quiet), /2 backend\(s\) on every node/);
  tables = [[model(2)], [model(2)]];
  assert.deepEqual(await waitForService(cluster(store, () => tables), "echo", 2, { loadBalancer: true }, 2000, quiet), { port: 80, clusterIP: "198.19.1.2", loadBalancerIP: "198.19.1.130", nodePort: 30001 });
});

test("cleanup deletes the namespace's deployments and services and waits for the pods to go", async () => {
  const store = new MemoryStore();
  const c = cluster(store);
  assert.equal(await removeTestWorkloads(c, 1000, quiet), false, "nothing to remove");
  await applyManifests(store, testManifests("local", "cluster-1", 2, "cluster-2"));
  await store.put(keys.deployment("default", "nginx"), "{}");
  await store.put(keys.pod("trellis-test", "echo-1"), "{}");
  // The operator removes the pods of a deleted deployment a moment later.
  const operator = setTimeout(() => void store.delete(keys.pod("trellis-test", "echo-1")), 100);
  const lines: string[] = [];
  assert.equal(await removeTestWorkloads(c, 5000, (l) => lines.push(l)), true);
  clearTimeout(operator);
  assert.equal((await store.list("trellis/deployments/trellis-test/")).kvs.length, 0);
  assert.equal((await store.list("trellis/services/trellis-test/")).kvs.length, 0);
  assert.ok(await store.get(keys.deployment("default", "nginx")), "other namespaces are left alone");
  assert.deepEqual(lines, ["🔥 [cluster-1] Deleting the workloads of namespace trellis-test...", "⌛ [cluster-1] Waiting for the pods of namespace trellis-test to be removed..."]);
});

test("every test policy is a valid CiliumNetworkPolicy naming the clusters it is written for", () => {
  for (const p of Object.values(TEST_POLICIES)) {
    const doc = testPolicyDocument(p, { local: "cluster-1", remote: "cluster-2" });
    assert.equal((doc.metadata as { namespace: string }).namespace, "trellis-test");
  }
  const allow = JSON.stringify(testPolicyDocument(TEST_POLICIES.echoIngressFromOtherClusterClient, { local: "c-a", remote: "c-b" }));
  assert.match(allow, /"io.cilium.k8s.policy.cluster":"c-a"/, "the echo pods admit the client's cluster by name");
});

test("a policy change waits until every agent's revision moved on with nothing pending, then cleanup removes it", async () => {
  const store = new MemoryStore();
  const agents = [
    { node: "n1", revision: 3, pending: false },
    { node: "n2", revision: 7, pending: false },
  ];
  const c = cluster(store, () => [], () => true, () => agents.map((a) => ({ ...a })));
  let settled = false;
  const applying = changeTestPolicies(c, "apply", [TEST_POLICIES.clientEgressToOtherClusterOnly], { local: "cluster-1", remote: "cluster-2" }, 5000, quiet).then(() => (settled = true));
  await new Promise((r) => setTimeout(r, 250));
  assert.ok(await store.get(keys.policy("trellis-test", "client-egress-to-other-cluster-only")), "stored where apply stores policies");
  agents[0] = { node: "n1", revision: 4, pending: false };
  agents[1] = { node: "n2", revision: 8, pending: true };
  await new Promise((r) => setTimeout(r, 250));
  assert.equal(settled, false, "n2 still has the change pending");
  agents[1] = { node: "n2", revision: 8, pending: false };
  await applying;
  assert.equal(await removeTestWorkloads(c, 2000, quiet), true, "a leftover test policy counts as something to clean");
  assert.equal((await store.list(keys.policies())).kvs.length, 0);
});
