import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryStore } from "../kvstore/memory-store.js";
import { keys } from "../resources/keys.js";
import { parseManifests } from "../resources/manifest.js";
import { decodeClusterConfig } from "../state/index.js";
import { Operator } from "./operator.js";
import { testClusterSettings } from "../resources/testing/cluster-settings.js";

async function until<T>(f: () => Promise<T | undefined | false>, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const deployment = (replicas: number) =>
  parseManifests(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx, ports: [{containerPort: 80}]}]}
`)[0]!.object;

test("the operator assigns pod CIDRs, writes cluster-config, and keeps deployments at their replica count", async (t) => {
  const store = new MemoryStore();
  await store.put(keys.clusterSettings(), JSON.stringify({ name: "cluster-2", id: 2, maxConnectedClusters: 255, datapathMode: "tunnel", podPool: "100.66.0.0/16", podNodeMaskSize: 24, serviceCIDR: "198.19.2.0/25", loadBalancerPool: "198.19.2.128/25" }));
  const op = new Operator({ store });
  t.after(async () => {
    await op.stop();
    await store.close();
  });
  await op.start();

  const cfg = await store.get("cilium/cluster-config/cluster-2");
  const decoded = decodeClusterConfig(cfg!.key, cfg!.value);
  assert.ok(decoded.ok && decoded.record.id === 2 && decoded.record.capabilities.syncedCanaries);
  assert.ok(await store.get("cilium/.heartbeat"));

  for (const n of ["node-1", "node-2"]) await store.put(keys.nodeRegistration(n), JSON.stringify({ name: n, ip: "198.18.2.11" }));
  const cidr = await until(async () => (await store.get(keys.nodeCIDR("node-2")))?.value.toString(), "CIDR for node-2");
  assert.deepEqual(JSON.parse(cidr), { podCIDR: "100.66.1.0/24" });

  await store.put(keys.deployment("default", "web"), JSON.stringify(deployment(4)));
  // No agent has published its node record yet: nothing can be scheduled.
  await new Promise((r) => setImmediate(r));
  assert.equal((await store.list(keys.pods())).kvs.length, 0);
  // Both agents come up at once (one transaction), so the scheduler sees both nodes.
  await store.txn({ success: ["node-1", "node-2"].map((n) => ({ type: "put" as const, key: `cilium/state/nodes/v1/cluster-2/${n}`, value: "{}" })) });
  const pods = await until(async () => {
    const { kvs } = await store.list(keys.pods());
    return kvs.length === 4 && kvs.map((kv) => JSON.parse(kv.value.toString()) as { node: string; labels: Record<string, string> });
  }, "4 pods");
  assert.deepEqual(pods.map((p) => p.node).sort(), ["node-1", "node-1", "node-2", "node-2"]);
  assert.deepEqual(pods[0]!.labels, { app: "web" });

  await store.put(keys.deployment("default", "web"), JSON.stringify(deployment(1)));
  await until(async () => (await store.list(keys.pods())).kvs.length === 1, "scaled to 1");
  await store.delete(keys.deployment("default", "web"));
  await until(async () => (await store.list(keys.pods())).kvs.length === 0, "pods of a deleted deployment removed");
});

test("services get addresses, and backends from the Running pods their selector matches", async (t) => {
  const store = new MemoryStore();
  await store.put(keys.clusterSettings(), JSON.stringify(testClusterSettings()));
  const op = new Operator({ store });
  t.after(async () => {
    await op.stop();
    await store.close();
  });
  await op.start();
  const pod = (name: string, app: string, node: string) => ({ name, namespace: "default", labels: { app }, node, ports: [80], image: "x", createdAt: "" });
  await store.put(keys.pod("default", "web-1"), JSON.stringify(pod("web-1", "web", "node-1")));
  await store.put(keys.pod("default", "web-2"), JSON.stringify(pod("web-2", "web", "node-2")));
  await store.put(keys.pod("default", "db-1"), JSON.stringify(pod("db-1", "db", "node-1")));
  for (const [n, ip] of [["web-1", "100.65.0.5"], ["db-1", "100.65.0.6"]]) {
    await store.put(keys.podStatus("default", n!), JSON.stringify({ name: n, namespace: "default", node: "node-1", phase: "Running", ip, updatedAt: "" }));
  }
  const [svc] = parseManifests(`apiVersion: v1
kind: Service
metadata: {name: web, annotations: {io.cilium/global-service: "true"}}
spec:
  type: LoadBalancer
  ports: [{port: 80}]
  selector: {app: web}
`);
  await store.put(keys.service("default", "web"), JSON.stringify(svc!.object));
  const status = await until(async () => (await store.get(keys.serviceStatus("default", "web")))?.value.toString(), "service status");
  assert.deepEqual(JSON.parse(status), { clusterIP: "198.19.1.1", nodePorts: { "80": 30000 }, loadBalancerIPs: ["198.19.1.129"] });
  const eps = await until(async () => (await store.get(keys.serviceEndpoints("default", "web")))?.value.toString(), "endpoints");
  assert.deepEqual(JSON.parse(eps).backends.map((b: { ip: string }) => b.ip), ["100.65.0.5"], "web-2 is not Running yet; db-1 does not match");
  await store.put(keys.podStatus("default", "web-2"), JSON.stringify({ name: "web-2", namespace: "default", node: "node-2", phase: "Running", ip: "100.65.1.9", updatedAt: "" }));
  await until(async () => JSON.parse((await store.get(keys.serviceEndpoints("default", "web")))!.value.toString()).backends.length === 2, "second backend");
  await store.delete(keys.service("default", "web"));
  await until(async () => !(await store.get(keys.serviceStatus("default", "web"))) && !(await store.get(keys.serviceEndpoints("default", "web"))), "cleanup");
});
