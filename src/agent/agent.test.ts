import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RecordingDatapath } from "../datapath/fake/recording-datapath.js";
import { MemoryStore } from "../kvstore/memory-store.js";
import { keys } from "../resources/keys.js";
import { decodeIpcache, decodeNode } from "../state/index.js";
import { callUnix } from "../util/unix-http.js";
import { Agent } from "./agent.js";
import type { FlowTrace } from "../policy/index.js";
import type { Endpoint, EndpointView, IdentityView, IpamLease, PolicyRepository } from "./api-types.js";
import { testClusterSettings } from "../resources/testing/cluster-settings.js";

const settings = testClusterSettings();

async function until<T>(f: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function cluster(t: TestContext) {
  const store = new MemoryStore();
  const dir = mkdtempSync(join(tmpdir(), "trellis-agent-"));
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await store.put(keys.clusterSettings(), JSON.stringify(settings));
  await store.put(keys.nodeCIDR("node-1"), JSON.stringify({ podCIDR: "100.65.0.0/24" }));
  await store.put(keys.nodeCIDR("node-2"), JSON.stringify({ podCIDR: "100.65.1.0/24" }));
  for (const [ns, name, app] of [["default", "a", "web"], ["default", "b", "web"], ["default", "c", "db"]]) {
    await store.put(keys.pod(ns!, name!), JSON.stringify({ name, namespace: ns, labels: { app }, node: "node-1", ports: [80], image: "x", createdAt: "" }));
  }
  const start = async (node: string, ip: string) => {
    const datapath = new RecordingDatapath();
    const agent = new Agent({ store, nodeName: node, nodeIP: ip, uplink: "lo", stateDir: join(dir, node), datapath });
    await agent.start();
    return { agent, datapath, sock: agent.socketPath };
  };
  return { store, start };
}

async function addPod(sock: string, containerId: string, podName: string): Promise<Endpoint> {
  const ipam = await callUnix<IpamLease>(sock, "POST", "/v1/ipam", { owner: `${containerId}/eth0` });
  return callUnix<Endpoint>(sock, "PUT", `/v1/endpoints/${containerId}`, {
    containerId,
    ifName: "eth0",
    netns: `/run/netns/${podName}`,
    hostIfName: `trl${containerId.slice(0, 11)}`,
    ip: ipam.ip,
    podName,
    podNamespace: "default",
  });
}

test("an agent publishes its node, gives pods identities and ipcache entries, and programs its peers", async (t) => {
  const { store, start } = await cluster(t);
  const n1 = await start("node-1", "198.18.1.11");
  const n2 = await start("node-2", "198.18.1.12");
  t.after(async () => {
    await n1.agent.stop();
    await n2.agent.stop();
  });

  const node = await store.get("cilium/state/nodes/v1/cluster-1/node-1");
  const rec = decodeNode(node!.key, node!.value);
  assert.ok(rec.ok && rec.record.ipv4AllocCidr === "100.65.0.0/24" && rec.record.ipAddresses[0]!.ip === "198.18.1.11");

  const ipam = await callUnix<IpamLease>(n1.sock, "POST", "/v1/ipam", { owner: "probe/eth0" });
  assert.equal(ipam.gateway, "100.65.0.1");
  assert.equal(ipam.mtu, 65536 - 50, "tunnel mode: uplink MTU minus VXLAN overhead");

  const a = await addPod(n1.sock, "aaaaaaaaaaaaaaaa", "a");
  const b = await addPod(n1.sock, "bbbbbbbbbbbbbbbb", "b");
  const c = await addPod(n1.sock, "cccccccccccccccc", "c");
  assert.equal(a.identity, b.identity, "same labels, same identity");
  assert.notEqual(a.identity, c.identity);
  assert.ok(a.identity >= 65536 && a.identity < 131072, "identity inside cluster 1's range");
  assert.ok(a.labels.includes("k8s:io.cilium.k8s.policy.cluster=cluster-1"));
  assert.ok(a.labels.includes("k8s:io.kubernetes.pod.namespace=default"));

  const kv = await store.get(`cilium/state/ip/v1/default/${a.ip}`);
  const entry = decodeIpcache(kv!.key, kv!.value);
  assert.ok(entry.ok && entry.record.identity === a.identity && entry.record.hostIp === "198.18.1.11");

  const desired = n1.datapath.lastDesired!;
  assert.deepEqual(desired.endpoints.map((e) => e.ip).sort(), [a.ip, b.ip, c.ip].sort());
  await n1.datapath.waitForDesired((d) => d.peers.some((p) => p.name === "node-2" && p.podCIDR === "100.65.1.0/24"));
  await n2.datapath.waitForDesired((d) => d.peers.some((p) => p.name === "node-1" && p.nodeIP === "198.18.1.11"));

  await callUnix(n1.sock, "DELETE", `/v1/endpoints/${b.containerId}`);
  await callUnix(n1.sock, "DELETE", `/v1/endpoints/${b.containerId}`); // idempotent
  assert.equal(await store.get(`cilium/state/ip/v1/default/${b.ip}`).then(async (x) => (x ? x : (await until(async () => !(await store.get(`cilium/state/ip/v1/default/${b.ip}`)), "ipcache delete"), undefined))), undefined);
  const status = await callUnix<{ ready: boolean; endpoints: number }>(n1.sock, "GET", "/v1/status");
  assert.equal(status.ready, true);
  assert.equal(status.endpoints, 2);
});

test("a restarted agent keeps its endpoints and cleans up pods deleted while it was down", async (t) => {
  const { store, start } = await cluster(t);
  let n1 = await start("node-1", "198.18.1.11");
  const a = await addPod(n1.sock, "aaaaaaaaaaaaaaaa", "a");
  const c = await addPod(n1.sock, "cccccccccccccccc", "c");
  await n1.agent.stop();

  await store.delete(keys.pod("default", "c")); // deleted while the agent is down
  n1 = await start("node-1", "198.18.1.11");
  t.after(() => n1.agent.stop());
  const eps = await callUnix<Endpoint[]>(n1.sock, "GET", "/v1/endpoints");
  assert.deepEqual(eps.map((e) => e.podName), ["a"]);
  assert.equal(eps[0]!.ip, a.ip, "same address after the restart");
  await until(async () => !(await store.get(`cilium/state/ip/v1/default/${c.ip}`)), "stale ipcache entry removed");
  assert.ok(await store.get(`cilium/state/ip/v1/default/${a.ip}`));
  assert.deepEqual(n1.datapath.lastDesired!.endpoints.map((e) => e.ip), [a.ip]);
  const again = await callUnix<IpamLease>(n1.sock, "POST", "/v1/ipam", { owner: "aaaaaaaaaaaaaaaa/eth0" });
  assert.equal(again.ip, a.ip, "the address stays held");
});

test("an endpoint with an address it does not hold is refused", async (t) => {
  const { start } = await cluster(t);
  const n1 = await start("node-1", "198.18.1.11");
  t.after(() => n1.agent.stop());
  await assert.rejects(
    callUnix(n1.sock, "PUT", "/v1/endpoints/zzz", { containerId: "zzz", ifName: "eth0", netns: "/x", hostIfName: "trlzzz", ip: "100.65.0.99", podName: "a", podNamespace: "default" }),
    /IP 100\.65\.0\.99 is not allocated to zzz\/eth0/,
  );
  await assert.rejects(callUnix(n1.sock, "PUT", "/v1/endpoints/zzz", { containerId: "zzz" }), /invalid request: ifName/);
});

test("policy: a selected pod's policy is in the kernel when its endpoint is created, and the API shows and traces it", async (t) => {
  const { store, start } = await cluster(t);
  await store.put(
    keys.policy("default", "db-from-web"),
    JSON.stringify({
      apiVersion: "cilium.io/v2",
      kind: "CiliumNetworkPolicy",
      metadata: { name: "db-from-web" },
      spec: { endpointSelector: { matchLabels: { app: "db" } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: "web" } }], toPorts: [{ ports: [{ port: "5432", protocol: "TCP" }] }] }] },
    }),
  );
  const n1 = await start("node-1", "198.18.1.11");
  t.after(() => n1.agent.stop());
  const a = await addPod(n1.sock, "aaaaaaaaaaaaaaaa", "a");
  const c = await addPod(n1.sock, "cccccccccccccccc", "c");

  const rules = n1.datapath.lastPolicy!.endpoints.find((e) => e.ip === c.ip);
  assert.ok(rules, "the db pod's policy was applied before its endpoint call returned");
  assert.deepEqual([...rules.ingress.allow], [`${a.identity}/6/5432`]);
  assert.equal(n1.datapath.lastPolicy!.ipcache.get(a.ip), a.identity);
  assert.equal(n1.datapath.lastPolicy!.ipcache.get("198.18.1.11"), 1, "the node's own address is host");

  const eps = await callUnix<EndpointView[]>(n1.sock, "GET", "/v1/endpoints");
  const db = eps.find((e) => e.podName === "c")!;
  assert.equal(db.policy.ingress.enforced, true);
  assert.deepEqual(db.policy.ingress.selectedBy, ["default/db-from-web spec"]);
  assert.equal(eps.find((e) => e.podName === "a")!.policy.ingress.enforced, false);

  const repo = await callUnix<PolicyRepository>(n1.sock, "GET", "/v1/policy");
  assert.deepEqual(repo.policies.map((p) => `${p.namespace}/${p.name}`), ["default/db-from-web"]);
  assert.equal(repo.defaultLocalCluster, true);
  const ids = await callUnix<IdentityView[]>(n1.sock, "GET", "/v1/identities");
  assert.deepEqual(ids.find((i) => i.id === c.identity), { id: c.identity, labels: c.labels, cluster: "cluster-1", source: "local" });
  assert.ok(ids.some((i) => i.id === 1 && i.source === "reserved"));

  const trace = (dport: number) => callUnix<FlowTrace>(n1.sock, "POST", "/v1/policy/trace", { src: { pod: { namespace: "default", name: "a" } }, dst: { pod: { namespace: "default", name: "c" } }, dport });
  assert.equal((await trace(5432)).verdict, "allowed");
  assert.equal((await trace(80)).verdict, "denied");
  await assert.rejects(callUnix(n1.sock, "POST", "/v1/policy/trace", { src: { pod: { namespace: "default", name: "nope" } }, dst: { identity: c.identity }, dport: 80 }), /pod default\/nope is not in the ipcache/);
});
