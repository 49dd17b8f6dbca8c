import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { RecordingDatapath } from "../datapath/fake/recording-datapath.js";
import type { NodePolicyState } from "../datapath/types.js";
import { MemoryStore } from "../kvstore/memory-store.js";
import { pino } from "pino";
import { workload, type Workload } from "../policy/testing/mesh-fixture.js";
import { keys } from "../resources/keys.js";
import { decodeIpcache, decodeNode, encodeIpcache, encodeNode, nodeKey, ipcacheKey, type IpcacheEntry } from "../state/index.js";
import { labelToString, type Label } from "../state/labels.js";
import type { Endpoint } from "./api-types.js";
import { NodeCache } from "./node-cache.js";
import { PolicyEngine } from "./policy-engine.js";
import { testClusterSettings } from "../resources/testing/cluster-settings.js";

const settings = testClusterSettings();

// Workloads of a two-cluster mesh, with the identities and labels agents give them.
const echo = workload("cluster-1", 1, 1, { app: "echo" });
const client1 = workload("cluster-1", 1, 2, { app: "client" });
const client2 = workload("cluster-2", 2, 2, { app: "client" });

const policyFromClients = (extra: Record<string, string> = {}) => ({
  apiVersion: "cilium.io/v2",
  kind: "CiliumNetworkPolicy",
  metadata: { name: "echo-from-clients", namespace: "default" },
  spec: {
    endpointSelector: { matchLabels: { app: "echo" } },
    ingress: [{ fromEndpoints: [{ matchLabels: { app: "client", ...extra } }], toPorts: [{ ports: [{ port: "80", protocol: "TCP" }] }] }],
  },
});

function entry(ip: string, identity: number, hostIp: string): IpcacheEntry {
  const r = decodeIpcache(ipcacheKey(ip), encodeIpcache({ ip, identity, hostIp }));
  assert.ok(r.ok);
  return r.record;
}

function endpoint(w: Workload, n: number): Endpoint {
  return {
    containerId: `c${n}`.padEnd(16, "0"),
    ifName: "eth0",
    netns: `/run/netns/p${n}`,
    hostIfName: `trl${String(n).padStart(11, "0")}`,
    ip: `100.65.0.${10 + n}`,
    podName: `p${n}`,
    podNamespace: "default",
    identity: w.identity,
    labels: w.labels.map(labelToString),
    createdAt: "",
  };
}

/** An engine on node-1 of cluster-1 over plain maps standing in for the agent's caches. */
async function setup(t: TestContext) {
  const store = new MemoryStore();
  await store.put(keys.clusterSettings(), JSON.stringify(settings));
  const datapath = new RecordingDatapath();
  const endpoints: Endpoint[] = [endpoint(echo, 1), endpoint(client1, 2)];
  const localIdentities = new Map<number, readonly Label[]>([echo, client1].map((w) => [w.identity, w.labels]));
  const remoteIdentities = new Map<number, { id: number; labels: readonly Label[]; cluster: string }>([[client2.identity, { id: client2.identity, labels: client2.labels, cluster: "cluster-2" }]]);
  const localIpcache = new Map([endpoint(echo, 1), endpoint(client1, 2)].map((e) => [e.ip, entry(e.ip, e.identity, "198.18.1.11")]));
  localIpcache.set("100.65.1.5", entry("100.65.1.5", client1.identity, "198.18.1.12"));
  const remoteIpcache = new Map([["100.66.0.7", entry("100.66.0.7", client2.identity, "198.18.2.11")]]);
  const nodes = new NodeCache();
  const node = (cluster: string, clusterId: number, name: string, ip: string, router: string, source: string) => {
    const r = decodeNode(nodeKey(cluster, name), encodeNode({ name, cluster, clusterId, ipAddresses: [{ type: "InternalIP", ip }, { type: "CiliumInternalIP", ip: router }] }));
    assert.ok(r.ok);
    nodes.upsert(source, r.record);
  };
  node("cluster-1", 1, "node-1", "198.18.1.11", "100.65.0.1", "local");
  node("cluster-1", 1, "node-2", "198.18.1.12", "100.65.1.1", "local");
  node("cluster-2", 2, "node-1", "198.18.2.11", "100.66.0.1", "cluster-2");
  const engine = new PolicyEngine({
    store,
    cluster: "cluster-1",
    nodeName: "node-1",
    datapath,
    logger: pino({ level: "silent" }),
    debounceMs: 5,
    backoff: { initialMs: 10, maxMs: 50 },
    sources: {
      endpoints: () => endpoints,
      localIdentities: () => localIdentities,
      remoteIdentities: () => remoteIdentities.values(),
      localIpcache: () => localIpcache.values(),
      remoteIpcache: () => remoteIpcache.values(),
      nodes: () => nodes.all(),
    },
  });
  engine.start();
  await engine.ready();
  t.after(async () => {
    await engine.stop();
    await store.close();
  });
  return { store, datapath, engine, endpoints, remoteIdentities, remoteIpcache, localIpcache };
}

async function until(f: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!f()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function rulesOf(state: NodePolicyState, ip: string) {
  return state.endpoints.find((e) => e.ip === ip);
}

test("without policies no endpoint is enforced, and the ipcache holds every pod and node address", async (t) => {
  const { engine, datapath } = await setup(t);
  const state = await engine.sync().then(() => datapath.lastPolicy!);
  assert.deepEqual(state.endpoints, []);
  assert.deepEqual(Object.fromEntries(state.ipcache), {
    "100.65.0.11": echo.identity,
    "100.65.0.12": client1.identity,
    "100.65.1.5": client1.identity,
    "100.66.0.7": client2.identity,
    "198.18.1.11": 1, // this node: host
    "100.65.0.1": 1, // its router IP
    "198.18.1.12": 6, // every other node, local or remote: remote-node
    "100.65.1.1": 6,
    "198.18.2.11": 6,
    "100.66.0.1": 6,
  });
});

test("a policy selecting a pod enforces its ingress with keys for the selected peers only", async (t) => {
  const { engine, datapath, store } = await setup(t);
  await store.put(keys.policy("default", "echo-from-clients"), JSON.stringify(policyFromClients()));
  const state = await datapath.waitForPolicy((s) => s.endpoints.length > 0);
  const rules = rulesOf(state, "100.65.0.11");
  assert.ok(rules, "the echo pod is subject to policy");
  assert.equal(rules.hostIfName, "trl00000000001");
  assert.equal(rules.ingress.enforced, true);
  assert.deepEqual([...rules.ingress.allow], [`${client1.identity}/6/80`], "by default only the local cluster's clients (Cilium 1.19)");
  assert.equal(rules.egress.enforced, false);
  assert.equal(rulesOf(state, "100.65.0.12"), undefined, "the client pod is selected by no policy");
  assert.equal(engine.status().revision, 1);
});

test("a selector naming the remote cluster admits its clients; withdrawing the cluster's identities removes their keys", async (t) => {
  const { engine, datapath, store, remoteIdentities, remoteIpcache } = await setup(t);
  await store.put(keys.policy("default", "echo-from-clients"), JSON.stringify(policyFromClients({ "io.cilium.k8s.policy.cluster": "cluster-2" })));
  let state = await datapath.waitForPolicy((s) => s.endpoints.length > 0);
  assert.deepEqual([...rulesOf(state, "100.65.0.11")!.ingress.allow], [`${client2.identity}/6/80`]);

  // What AgentMesh does when cluster-2 is disconnected: every record of it is deleted.
  remoteIdentities.clear();
  remoteIpcache.clear();
  engine.identitiesChanged();
  engine.ipcacheChanged();
  state = await datapath.waitForPolicy((s) => !s.ipcache.has("100.66.0.7"));
  const rules = rulesOf(state, "100.65.0.11")!;
  assert.equal(rules.ingress.enforced, true, "still default deny");
  assert.deepEqual([...rules.ingress.allow], [], "no key admits the withdrawn identity");
});

test("policyDefaultLocalCluster=false in the cluster settings makes selectors without a cluster label match every cluster", async (t) => {
  const { engine, datapath, store } = await setup(t);
  await store.put(keys.policy("default", "echo-from-clients"), JSON.stringify(policyFromClients()));
  await datapath.waitForPolicy((s) => s.endpoints.length > 0);
  await store.put(keys.clusterSettings(), JSON.stringify({ ...settings, policyDefaultLocalCluster: false }));
  const state = await datapath.waitForPolicy((s) => rulesOf(s, "100.65.0.11")?.ingress.allow.size === 2);
  assert.deepEqual([...rulesOf(state, "100.65.0.11")!.ingress.allow].sort(), [`${client1.identity}/6/80`, `${client2.identity}/6/80`].sort());
  assert.equal(engine.status().defaultLocalCluster, false);
  assert.equal(engine.context().options.defaultLocalCluster, false, "trace uses the same option");
});

test("an ipcache change reaches the kernel without resolving policies again", async (t) => {
  const { engine, datapath, store, remoteIpcache } = await setup(t);
  await store.put(keys.policy("default", "echo-from-clients"), JSON.stringify(policyFromClients()));
  await datapath.waitForPolicy((s) => s.endpoints.length > 0);
  const resolves = engine.status().resolves;
  remoteIpcache.set("100.66.0.8", entry("100.66.0.8", client2.identity, "198.18.2.11"));
  engine.ipcacheChanged();
  const state = await datapath.waitForPolicy((s) => s.ipcache.get("100.66.0.8") === client2.identity);
  assert.equal(engine.status().resolves, resolves, "the key sets were reused");
  assert.ok(rulesOf(state, "100.65.0.11")!.ingress.enforced);
});

test("bursts of changes are coalesced into few reconciles", async (t) => {
  const { engine, datapath, remoteIpcache } = await setup(t);
  await engine.sync();
  const before = datapath.policyStates.length;
  for (let i = 0; i < 50; i++) {
    remoteIpcache.set(`100.66.1.${i}`, entry(`100.66.1.${i}`, client2.identity, "198.18.2.11"));
    engine.ipcacheChanged();
  }
  await datapath.waitForPolicy((s) => s.ipcache.has("100.66.1.49"));
  assert.ok(datapath.policyStates.length - before <= 2, `50 changes took ${datapath.policyStates.length - before} reconciles`);
});

test("a stored policy that is not valid is listed with its error and not enforced", async (t) => {
  const { engine, datapath, store } = await setup(t);
  const broken = policyFromClients();
  (broken.spec.ingress[0]!.toPorts[0]!.ports[0] as { protocol: string }).protocol = "TCPX";
  await store.put(keys.policy("default", "broken"), JSON.stringify(broken));
  await store.put(keys.clusterwidePolicy("cw"), "not json");
  await until(() => engine.storedPolicies().length === 2, "both policies to be read");
  await engine.sync();
  const [bad, cw] = [engine.storedPolicies().find((p) => p.name === "broken")!, engine.storedPolicies().find((p) => p.name === "cw")!];
  assert.match(bad.error ?? "", /protocol "TCPX"/);
  assert.equal(cw.kind, "CiliumClusterwideNetworkPolicy");
  assert.match(cw.error ?? "", /not JSON/);
  assert.deepEqual(datapath.lastPolicy!.endpoints, []);
});

test("a failed reconcile is reported to sync() and retried until the kernel has the state", async (t) => {
  const { engine, datapath, store } = await setup(t);
  await engine.sync();
  datapath.failNext(new Error("nft: transaction failed"));
  const failed = engine.sync();
  await assert.rejects(failed, /policy could not be applied: nft: transaction failed/);
  await store.put(keys.policy("default", "echo-from-clients"), JSON.stringify(policyFromClients()));
  await datapath.waitForPolicy((s) => s.endpoints.length === 1);
  assert.ok(engine.status().failures >= 1);
  const calls = datapath.calls.filter((c) => c.kind === "reconcilePolicy");
  assert.ok(calls.at(-1)!.report, "the last attempt succeeded");
});

test("an endpoint added and synced is protected when sync resolves", async (t) => {
  const { engine, datapath, store, endpoints } = await setup(t);
  await store.put(keys.policy("default", "echo-from-clients"), JSON.stringify(policyFromClients()));
  await datapath.waitForPolicy((s) => s.endpoints.length === 1);
  endpoints.push(endpoint(echo, 3));
  engine.endpointsChanged();
  await engine.sync();
  assert.ok(rulesOf(datapath.lastPolicy!, "100.65.0.13")?.ingress.enforced, "the new echo pod's policy is in place");
});

test("the first reconcile waits for the remote clusters' state, and a sync (a CNI ADD) waits with it", async (t) => {
  const store = new MemoryStore();
  await store.put(keys.clusterSettings(), JSON.stringify(settings));
  const datapath = new RecordingDatapath();
  let openGate: (synced: boolean) => void = () => undefined;
  const engine = new PolicyEngine({
    store,
    cluster: "cluster-1",
    nodeName: "node-1",
    datapath,
    logger: pino({ level: "silent" }),
    debounceMs: 5,
    remoteSync: () => new Promise<boolean>((r) => (openGate = r)),
    sources: { endpoints: () => [endpoint(echo, 1)], localIdentities: () => new Map(), remoteIdentities: () => [], localIpcache: () => [], remoteIpcache: () => [], nodes: () => [] },
  });
  t.after(async () => {
    await engine.stop();
    await store.close();
  });
  engine.start();
  await engine.ready();
  let synced = false;
  const sync = engine.sync().then(() => (synced = true));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(datapath.policyStates.length, 0, "nothing reaches the kernel before the remote clusters are listed");
  assert.equal(synced, false);
  assert.equal(engine.status().pending, true, "status says a change is pending");
  openGate(false); // gave up waiting: policy is applied anyway
  await sync;
  assert.equal(datapath.policyStates.length, 1);
  assert.equal(engine.status().pending, false);
});
