import assert from "node:assert/strict";
import { describe, test, type TestContext } from "node:test";
import { validateClusterInfo } from "../cluster/index.js";
import { MemoryStore } from "../kvstore/index.js";
import { waitFor } from "../kvstore/testing/index.js";
import { ClusterMesh, type ClusterMeshOptions } from "./cluster-mesh.js";
import { addMeshPeer, removeMeshPeer } from "./mesh-secret.js";
import type { PeerConfig } from "./peer-config.js";
import { StateRecorder, nodeEntry, publishCluster } from "./testing/remote-state.js";

const local = validateClusterInfo({ name: "cluster-1", id: 1 });

/** Remote clusters as in-memory stores, reached through the endpoint their PeerConfig names. */
class FakeRemotes {
  private readonly stores = new Map<string, MemoryStore>();

  async add(endpoint: string, cluster: { name: string; id: number }): Promise<MemoryStore> {
    const store = new MemoryStore();
    this.stores.set(endpoint, store);
    await publishCluster(store, cluster);
    return store;
  }

  connect = (peer: PeerConfig): MemoryStore => {
    const store = this.stores.get(peer.endpoints[0]!);
    if (!store) throw new Error(`test: nothing at ${peer.endpoints[0]}`);
    return store.newClient();
  };

  async close(): Promise<void> {
    for (const s of this.stores.values()) await s.close();
  }
}

function meshFor(t: TestContext, remotes: FakeRemotes, options: Partial<ClusterMeshOptions> = {}): { mesh: ClusterMesh; rec: StateRecorder } {
  const rec = new StateRecorder();
  const mesh = new ClusterMesh({ local, connect: remotes.connect, handlers: rec.meshHandlers, backoff: { initialMs: 50, maxMs: 300 }, ...options });
  t.after(async () => {
    await mesh.stop();
    await remotes.close();
  });
  return { mesh, rec };
}

const peer = (name: string, endpoint: string): PeerConfig => ({ name, endpoints: [endpoint] });

describe("ClusterMesh", () => {
  test("reading KVStoreMesh's cache, a changed peer entry (a renewed certificate) restarts nothing", async (t) => {
    const remotes = new FakeRemotes();
    await remotes.add("http://cache:2379", { name: "cluster-2", id: 2 });
    let connects = 0;
    const { mesh } = meshFor(t, remotes, { mode: "cache", connect: () => (connects++, remotes.connect(peer("cluster-2", "http://cache:2379"))) });
    await mesh.setPeers([peer("cluster-2", "http://198.19.2.129:2379")]);
    await waitFor("the cache to be opened", () => connects === 1);
    const reader = mesh.cluster("cluster-2");
    // The peer's entry changes (its certificate was renewed, or its address moved).
    await mesh.setPeers([peer("cluster-2", "http://198.19.2.130:2379")]);
    await new Promise((r) => setTimeout(r, 200)); // a restart would reconnect within this (backoff starts at 50 ms)
    assert.equal(connects, 1, "the cache is local: the peer's entry is not used to read it");
    assert.equal(mesh.cluster("cluster-2"), reader, "the same reader");
    assert.equal(reader!.status().reconnections, 0);
  });

  test("adds and removes remote clusters live, reconnects only the one whose config changed, and fans records in with the cluster's name", async (t) => {
    const remotes = new FakeRemotes();
    await remotes.add("http://c2:2379", { name: "cluster-2", id: 2 });
    await remotes.add("http://c3:2379", { name: "cluster-3", id: 3 });
    const c3b = await remotes.add("http://c3b:2379", { name: "cluster-3", id: 3 });
    await c3b.put(nodeEntry({ name: "cluster-3", id: 3 }, 2).key, nodeEntry({ name: "cluster-3", id: 3 }, 2).value);
    const { mesh, rec } = meshFor(t, remotes);

    await mesh.setPeers([peer("cluster-2", "http://c2:2379")]);
    await waitFor("cluster-2 ready", () => mesh.status().ready === 1);
    assert.equal(mesh.status().summary, "1/1 remote clusters ready");
    assert.ok(rec.events.includes("upsert nodes cluster-2:cluster-2/node-1"));

    await mesh.setPeers([peer("cluster-2", "http://c2:2379"), peer("cluster-3", "http://c3:2379"), peer("cluster-1", "http://self:2379"), { name: "cluster-4", endpoints: [] }]);
    await waitFor("both ready", () => mesh.status().ready === 2);
    let s = mesh.status();
    assert.equal(s.summary, "2/2 remote clusters ready");
    assert.deepEqual(s.clusters.map((c) => [c.name, c.clusterId, c.ready]), [["cluster-2", 2, true], ["cluster-3", 3, true]]);
    assert.deepEqual(s.ignored, ["cluster-1"], "the local cluster is never a remote");
    assert.deepEqual(s.problems.map((p) => p.peer), ["cluster-4"]);
    assert.match(s.problems[0]!.message, /"endpoints" must list at least one URL/);
    assert.equal(mesh.cluster("cluster-2")!.status().reconnections, 0, "adding a peer leaves the others alone");

    const before = rec.events.length;
    await mesh.setPeers([peer("cluster-2", "http://c2:2379"), peer("cluster-3", "http://c3b:2379")]);
    await waitFor("cluster-3 reconnected to its new endpoint", () => rec.count("nodes") === 3);
    await waitFor("cluster-3 ready", () => mesh.status().ready === 2);
    assert.deepEqual(rec.events.slice(before), ["upsert nodes cluster-3:cluster-3/node-2"], "same records elsewhere are not reported again");
    assert.equal(mesh.cluster("cluster-2")!.status().reconnections, 0);

    await mesh.setPeers([peer("cluster-3", "http://c3b:2379")]);
    s = mesh.status();
    assert.equal(s.summary, "1/1 remote clusters ready");
    assert.equal(mesh.cluster("cluster-2"), undefined);
    assert.deepEqual(rec.events.filter((e) => e.startsWith("delete")).sort(), [
      "delete endpoints cluster-2:100.66.1.11",
      "delete identities cluster-2:131073",
      "delete nodes cluster-2:cluster-2/node-1",
      "delete services cluster-2:cluster-2/default/web",
    ]);
  });

  test("two remote clusters claiming one cluster ID are both refused, saying which and why, until one leaves", async (t) => {
    const remotes = new FakeRemotes();
    await remotes.add("http://c2:2379", { name: "cluster-2", id: 2 });
    await remotes.add("http://c3:2379", { name: "cluster-3", id: 2 });
    const { mesh, rec } = meshFor(t, remotes);
    await mesh.setPeers([peer("cluster-2", "http://c2:2379")]);
    await waitFor("cluster-2 ready", () => mesh.status().ready === 1);

    await mesh.setPeers([peer("cluster-2", "http://c2:2379"), peer("cluster-3", "http://c3:2379")]);
    await waitFor("both refused", () => mesh.status().clusters.every((c) => c.notUsedReason !== undefined));
    const [s2, s3] = mesh.status().clusters;
    assert.match(s2!.notUsedReason!, /cluster ID 2 is also claimed by remote cluster cluster-3/);
    assert.match(s3!.notUsedReason!, /cluster ID 2 is also claimed by remote cluster cluster-2/);
    assert.equal(mesh.status().summary, "0/2 remote clusters ready");
    await waitFor("cluster-2's records withdrawn", () => rec.total() === 0);

    await mesh.setPeers([peer("cluster-3", "http://c3:2379")]);
    await waitFor("cluster-3 used once the clash is gone", () => mesh.status().ready === 1);
    assert.equal(mesh.status().clusters[0]!.notUsedReason, undefined);
    assert.equal(rec.count("nodes"), 1);
    assert.ok(rec.events.includes("upsert nodes cluster-3:cluster-3/node-1"));
  });

  test("follows the mesh secret in the local store", async (t) => {
    const remotes = new FakeRemotes();
    await remotes.add("http://c2:2379", { name: "cluster-2", id: 2 });
    const configStore = new MemoryStore();
    t.after(() => configStore.close());
    const { mesh } = meshFor(t, remotes, { configStore });
    mesh.start();
    await mesh.waitConfigured();
    assert.equal(mesh.status().summary, "0/0 remote clusters ready");
    await addMeshPeer(configStore, peer("cluster-2", "http://c2:2379"));
    await waitFor("connected through the secret", () => mesh.status().ready === 1);
    await removeMeshPeer(configStore, "cluster-2");
    await waitFor("disconnected", () => mesh.status().total === 0);
  });
});
