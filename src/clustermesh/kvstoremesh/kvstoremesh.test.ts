import assert from "node:assert/strict";
import { test } from "node:test";
import { validateClusterInfo } from "../../cluster/index.js";
import { EtcdStore, MemoryStore, type KvStore } from "../../kvstore/index.js";
import { EtcdProcess, waitFor } from "../../kvstore/testing/index.js";
import { createCertificateAuthority, issueCertificate } from "../../pki/certificates.js";
import { clusterConfigKey, nodeKey } from "../../state/index.js";
import { ClusterMesh } from "../cluster-mesh.js";
import { addMeshPeer, removeMeshPeer } from "../mesh-secret.js";
import { StateRecorder, nodeEntry, publishCluster } from "../testing/remote-state.js";
import { KvStoreMesh } from "./kvstoremesh.js";

const local = validateClusterInfo({ name: "cluster-1", id: 1 });
const c2 = { name: "cluster-2", id: 2 };
const fast = { initialMs: 50, maxMs: 300 };

async function keysUnder(store: KvStore, prefix: string): Promise<string[]> {
  return (await store.list(prefix)).kvs.map((kv) => kv.key);
}

test("end to end: a remote etcd with mTLS, KVStoreMesh driven by the mesh secret, and an agent reading the local cache see the remote's nodes", async (t) => {
  const ca = await createCertificateAuthority("cluster-2 CA");
  const server = await issueCertificate(ca, { commonName: "clustermesh-apiserver", usage: "server", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
  const root = await issueCertificate(ca, { commonName: "root", usage: "client" });
  const remoteUser = await issueCertificate(ca, { commonName: "remote", usage: "client" });
  const [remoteEtcd, localEtcd] = await Promise.all([
    EtcdProcess.start({ tls: { ca: ca.certPem, serverCert: server.certPem, serverKey: server.keyPem, clientCert: root.certPem, clientKey: root.keyPem } }),
    EtcdProcess.start(),
  ]);
  t.after(() => Promise.all([remoteEtcd.cleanup(), localEtcd.cleanup()]));
  const remoteAdmin = new EtcdStore(remoteEtcd.config());
  const localStore = new EtcdStore(localEtcd.config());
  t.after(() => Promise.all([remoteAdmin.close(), localStore.close()]));

  // cluster-2 runs: its operator and agents have published their state and canaries.
  await publishCluster(remoteAdmin, c2);
  // `clustermesh connect`: the one secret names both clusters; cluster-1 ignores its own entry.
  await addMeshPeer(localStore, { name: "cluster-2", endpoints: [remoteEtcd.endpoint], tls: { ca: ca.certPem, cert: remoteUser.certPem, key: remoteUser.keyPem } });
  await addMeshPeer(localStore, { name: "cluster-1", endpoints: ["https://localhost:1"], tls: { ca: ca.certPem } });

  const kvstoremesh = new KvStoreMesh({ local, store: localStore, backoff: fast });
  t.after(() => kvstoremesh.stop());
  kvstoremesh.start();
  await waitFor("KVStoreMesh has cluster-2 cached", () => kvstoremesh.status().ready === 1, 15_000);
  const kvmStatus = kvstoremesh.status();
  assert.equal(kvmStatus.summary, "1/1 remote clusters ready");
  assert.deepEqual(kvmStatus.ignored, ["cluster-1"]);
  assert.deepEqual(kvmStatus.clusters[0]!.counts, { nodes: 1, endpoints: 1, identities: 1, services: 1 });

  // The agent reads every remote cluster from the local etcd, in cache mode.
  const rec = new StateRecorder();
  const agent = new ClusterMesh({ local, connect: () => new EtcdStore(localEtcd.config()), configStore: localStore, handlers: rec.meshHandlers, mode: "cache", backoff: fast });
  t.after(() => agent.stop());
  agent.start();
  await waitFor("agent ready", () => agent.status().ready === 1, 15_000);
  const s = agent.status().clusters[0]!;
  assert.equal(s.mode, "cache");
  assert.equal(s.clusterId, 2);
  assert.deepEqual(s.counts, { nodes: 1, endpoints: 1, identities: 1, services: 1 });
  const node = rec.get("nodes", `cluster-2:${"cilium/cache/nodes/v1/cluster-2/node-1"}`)!;
  assert.deepEqual([node.cluster, node.name, node.ipAddresses[0]?.ip, node.ipv4AllocCidr], ["cluster-2", "node-1", "198.18.2.11", "100.66.1.0/24"]);

  // A node joins cluster-2: it reaches the agent through the cache.
  await remoteAdmin.put(nodeEntry(c2, 2).key, nodeEntry(c2, 2).value);
  await waitFor("new node seen by the agent", () => rec.events.includes("upsert nodes cluster-2:cluster-2/node-2"));
  assert.equal(agent.status().clusters[0]!.counts.nodes, 2);

  // `clustermesh disconnect`: the agent drops cluster-2's state, KVStoreMesh deletes its cache.
  await removeMeshPeer(localStore, "cluster-2");
  await waitFor("agent dropped cluster-2", () => agent.status().total === 0 && rec.total() === 0, 15_000);
  await waitFor("cache deleted", async () => (await keysUnder(localStore, "cilium/")).length === 0, 15_000);
  assert.equal(kvstoremesh.status().total, 0);
  assert.ok(await remoteAdmin.get(nodeKey("cluster-2", "node-2")), "the remote cluster's own state is untouched");
});

test("KVStoreMesh deletes a cache left from an earlier run for a remote cluster the secret no longer names", async (t) => {
  const localStore = new MemoryStore();
  const remote = new MemoryStore();
  t.after(async () => {
    await localStore.close();
    await remote.close();
  });
  await publishCluster(remote, c2);
  await localStore.put(clusterConfigKey("cluster-9"), '{"id":9,"capabilities":{"syncedCanaries":true,"cached":true}}');
  await localStore.put("cilium/cache/nodes/v1/cluster-9/node-1", "x");
  await localStore.put("cilium/synced/cluster-9/cilium/cache/nodes/v1", "2026-01-02T03:04:05Z");
  // cluster-1's own config is not a cache and stays.
  await localStore.put(clusterConfigKey("cluster-1"), '{"id":1,"capabilities":{"syncedCanaries":true}}');
  await addMeshPeer(localStore, { name: "cluster-2", endpoints: ["http://cluster-2.test:2379"] });

  const kvstoremesh = new KvStoreMesh({ local, store: localStore, connect: () => remote.newClient(), backoff: fast });
  t.after(() => kvstoremesh.stop());
  kvstoremesh.start();
  await kvstoremesh.waitConfigured();
  await waitFor("cluster-2 cached", () => kvstoremesh.status().ready === 1);
  assert.deepEqual(await keysUnder(localStore, "cilium/cache/nodes/"), ["cilium/cache/nodes/v1/cluster-2/node-1"]);
  assert.deepEqual(await keysUnder(localStore, "cilium/cluster-config/"), ["cilium/cluster-config/cluster-1", "cilium/cluster-config/cluster-2"]);
  assert.equal((await keysUnder(localStore, "cilium/synced/cluster-9/")).length, 0);
});
