import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { pino } from "pino";
import { RecordingDatapath } from "../datapath/fake/recording-datapath.js";
import { MemoryStore } from "../kvstore/memory-store.js";
import { workload } from "../policy/testing/mesh-fixture.js";
import { keys } from "../resources/keys.js";
import { labelToString, type Label } from "../state/labels.js";
import type { Endpoint } from "./api-types.js";
import { PolicyEngine } from "./policy-engine.js";
import { PolicyQueryError, identityViews, tracePolicy, type PolicyQuerySources } from "./policy-queries.js";

const echo = workload("cluster-2", 2, 1, { app: "echo" });
const client1 = workload("cluster-1", 1, 2, { app: "client" });
const client2 = workload("cluster-2", 2, 2, { app: "client" });
const other3 = workload("cluster-3", 3, 2, { app: "client" });

/** Cluster-2's agent: echo runs on it; a client pod named "client" runs in cluster-1 and cluster-3 too. */
async function setup(t: TestContext): Promise<PolicyQuerySources> {
  const store = new MemoryStore();
  await store.put(
    keys.policy("default", "echo-from-cluster-1"),
    JSON.stringify({
      apiVersion: "cilium.io/v2",
      kind: "CiliumNetworkPolicy",
      metadata: { name: "echo-from-cluster-1", namespace: "default" },
      spec: { endpointSelector: { matchLabels: { app: "echo" } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: "client", "io.cilium.k8s.policy.cluster": "cluster-1" } }], toPorts: [{ ports: [{ port: "80" }] }] }] },
    }),
  );
  const endpoints: Endpoint[] = [
    { containerId: "e1", ifName: "eth0", netns: "", hostIfName: "trle1", ip: "100.66.0.10", podName: "echo", podNamespace: "default", identity: echo.identity, labels: echo.labels.map(labelToString), createdAt: "" },
  ];
  const local = new Map<number, readonly Label[]>([[echo.identity, echo.labels], [client2.identity, client2.labels]]);
  const remote = [
    { id: client1.identity, labels: client1.labels, cluster: "cluster-1" },
    { id: other3.identity, labels: other3.labels, cluster: "cluster-3" },
  ];
  const engine = new PolicyEngine({
    store,
    cluster: "cluster-2",
    nodeName: "node-1",
    datapath: new RecordingDatapath(),
    logger: pino({ level: "silent" }),
    sources: { endpoints: () => endpoints, localIdentities: () => local, remoteIdentities: () => remote, localIpcache: () => [], remoteIpcache: () => [], nodes: () => [] },
  });
  engine.start();
  await engine.ready();
  await engine.sync();
  t.after(async () => {
    await engine.stop();
    await store.close();
  });
  return {
    cluster: "cluster-2",
    node: "node-1",
    engine,
    endpoints: () => endpoints,
    ipcache: () => [
      { identity: echo.identity, pod: "default/echo", source: "cluster-2" },
      { identity: client1.identity, pod: "default/client", source: "cluster-1" },
      { identity: other3.identity, pod: "default/client", source: "cluster-3" },
      { identity: 4, source: "cluster-2" },
    ],
  };
}

test("a trace from another cluster's pod resolves its identity from the ipcache and explains the destination's ingress", async (t) => {
  const s = await setup(t);
  const allowed = tracePolicy(s, { src: { pod: { cluster: "cluster-1", namespace: "default", name: "client" } }, dst: { pod: { namespace: "default", name: "echo" } }, dport: 80 });
  assert.equal(allowed.verdict, "allowed");
  assert.equal(allowed.src.identity, client1.identity);
  assert.equal(allowed.egress, undefined, "cluster-1's egress policy is not this cluster's to trace");
  assert.deepEqual(allowed.ingress?.decision.rules.map((r) => r.policy), ["default/echo-from-cluster-1"]);
  const denied = tracePolicy(s, { src: { pod: { cluster: "cluster-3", namespace: "default", name: "client" } }, dst: { pod: { namespace: "default", name: "echo" } }, dport: 80 });
  assert.equal(denied.verdict, "denied");
  assert.equal(denied.ingress?.decision.reason, "default-deny");
  assert.equal(tracePolicy(s, { src: { identity: client1.identity }, dst: { identity: echo.identity }, protocol: "udp", dport: 80 }).verdict, "allowed", "the rule names no protocol");
});

test("a pod name found in several other clusters must be qualified; unknown pods and identities are named", async (t) => {
  const s = await setup(t);
  const ask = (src: Parameters<typeof tracePolicy>[1]["src"]) => () => tracePolicy(s, { src, dst: { pod: { namespace: "default", name: "echo" } }, dport: 80 });
  assert.throws(ask({ pod: { namespace: "default", name: "client" } }), (e: Error) => e instanceof PolicyQueryError && e.status === 400 && /exists in clusters cluster-1, cluster-3: name one, e\.g\. --src-pod cluster-1\/default\/client/.test(e.message));
  assert.throws(ask({ pod: { namespace: "default", name: "nope" } }), (e: Error) => e instanceof PolicyQueryError && e.status === 404 && /pod default\/nope is not in the ipcache of cluster-2\/node-1/.test(e.message));
  assert.throws(ask({ identity: 70000 }), (e: Error) => e instanceof PolicyQueryError && e.status === 404 && /identity 70000 is not known/.test(e.message));
  assert.throws(() => tracePolicy(s, { src: { identity: 2 }, dst: { identity: echo.identity }, dport: 0 }), /dport must be a port number from 1 to 65535 \(got 0\)/);
});

test("identity list holds the reserved identities, this cluster's and the connected clusters', each with its cluster", async (t) => {
  const s = await setup(t);
  const ids = identityViews(s);
  assert.deepEqual(ids.find((i) => i.id === client1.identity), { id: client1.identity, labels: client1.labels.map(labelToString), cluster: "cluster-1", source: "remote" });
  assert.equal(ids.find((i) => i.id === echo.identity)?.source, "local");
  assert.deepEqual(ids.find((i) => i.id === 6), { id: 6, labels: ["reserved:remote-node"], source: "reserved" });
  assert.deepEqual(ids.map((i) => i.id), [...ids.map((i) => i.id)].sort((a, b) => a - b));
});
