import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test, type TestContext } from "node:test";
import { validateClusterInfo } from "../../cluster/index.js";
import { EtcdStore, MemoryStore, type KvStore } from "../../kvstore/index.js";
import { EtcdProcess, waitFor } from "../../kvstore/testing/index.js";
import { clusterConfigKey, decodeClusterConfig, identityValueKey, nodeKey, stateToCacheKey } from "../../state/index.js";
import {
  endpointEntry,
  identityEntry,
  identityOf,
  nodeEntry,
  publishCanaries,
  publishCluster,
  publishClusterConfig,
  serviceEntry,
} from "../testing/remote-state.js";
import { Reflector, type ReflectorOptions } from "./reflector.js";

const local = validateClusterInfo({ name: "cluster-1", id: 1 });
const c2 = { name: "cluster-2", id: 2 };
const c3 = { name: "cluster-3", id: 3 };

const CACHE_CANARIES = [
  "cilium/synced/cluster-2/cilium/cache/identities/v1",
  "cilium/synced/cluster-2/cilium/cache/ip/v1",
  "cilium/synced/cluster-2/cilium/cache/nodes/v1",
  "cilium/synced/cluster-2/cilium/cache/services/v1",
];

/** Keys and raw values under `prefix`. */
async function dump(store: KvStore, prefix: string): Promise<Map<string, Buffer>> {
  return new Map((await store.list(prefix)).kvs.map((kv) => [kv.key, kv.value]));
}

describe("Reflector (KVStoreMesh for one remote cluster) between two real etcds", () => {
  let remoteEtcd: EtcdProcess;
  let localEtcd: EtcdProcess;
  let remote: EtcdStore;
  let localStore: EtcdStore;
  before(async () => {
    [remoteEtcd, localEtcd] = await Promise.all([EtcdProcess.start(), EtcdProcess.start()]);
    remote = new EtcdStore(remoteEtcd.config());
    localStore = new EtcdStore(localEtcd.config());
  });
  after(async () => {
    await remote?.close();
    await localStore?.close();
    await Promise.all([remoteEtcd?.cleanup(), localEtcd?.cleanup()]);
  });
  beforeEach(async () => {
    await remote.deletePrefix("");
    await localStore.deletePrefix("");
  });

  function reflector(t: TestContext, options: Partial<ReflectorOptions> = {}): Reflector {
    const r = new Reflector({ name: c2.name, local, localStore, connect: () => new EtcdStore(remoteEtcd.config()), backoff: { initialMs: 50, maxMs: 300 }, ...options });
    t.after(() => r.stop());
    r.start();
    return r;
  }

  test("copies the remote's own records byte for byte into the cache, then writes the cache canaries and the config marked cached", async (t) => {
    await publishClusterConfig(remote, c2);
    // Formatted unlike any encoder would: a re-encoding copy could not reproduce these bytes.
    const node = nodeEntry(c2, 1);
    const spacedNode = JSON.stringify(JSON.parse(node.value), null, 2);
    await remote.put(node.key, spacedNode);
    for (const e of [endpointEntry(c2, 1), serviceEntry(c2, "web")]) await remote.put(e.key, JSON.stringify(JSON.parse(e.value), null, 1));
    await remote.put(identityEntry(c2, 1).key, identityEntry(c2, 1).value);
    // Not cluster-2's to export: another cluster's node, a node's identity reference, an endpoint with another cluster's identity.
    await remote.put(nodeEntry(c3, 1).key, nodeEntry(c3, 1).value);
    await remote.put(identityValueKey("k8s:app=x;", "198.18.2.11"), String(identityOf(c2, 1)));
    const foreign = endpointEntry(c2, 2, identityOf(c3, 1));
    await remote.put(foreign.key, foreign.value);
    await publishCanaries(remote, c2);

    const r = reflector(t);
    await waitFor("reflector ready", () => r.status().ready);
    const s = r.status();
    assert.deepEqual(s.counts, { nodes: 1, endpoints: 1, identities: 1, services: 1 });
    assert.deepEqual(s.rejected, { "identity-out-of-range": 1 });
    assert.deepEqual(s.synced, { nodes: true, endpoints: true, identities: true, services: true });

    const cache = await dump(localStore, "cilium/cache/");
    assert.deepEqual([...cache.keys()].sort(), [
      "cilium/cache/identities/v1/cluster-2/id/131073",
      "cilium/cache/ip/v1/cluster-2/100.66.1.11",
      "cilium/cache/nodes/v1/cluster-2/node-1",
      "cilium/cache/services/v1/cluster-2/default/web",
    ]);
    let compared = 0;
    for (const kv of (await remote.list("cilium/state/")).kvs) {
      const target = stateToCacheKey(kv.key, c2.name);
      if (target === undefined || !cache.has(target)) continue;
      assert.ok(cache.get(target)!.equals(kv.value), `${target} holds exactly the bytes of ${kv.key}`);
      compared++;
    }
    assert.equal(compared, 4);
    assert.equal(cache.get("cilium/cache/nodes/v1/cluster-2/node-1")!.toString(), spacedNode);

    assert.deepEqual([...(await dump(localStore, "cilium/synced/")).keys()].sort(), CACHE_CANARIES);
    const config = await localStore.get(clusterConfigKey(c2.name));
    const decoded = decodeClusterConfig(clusterConfigKey(c2.name), config!.value);
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.record, { cluster: "cluster-2", id: 2, capabilities: { syncedCanaries: true, cached: true } });

    // Live changes follow.
    await remote.put(nodeEntry(c2, 2).key, nodeEntry(c2, 2).value);
    await remote.delete(serviceEntry(c2, "web").key);
    await waitFor("live changes reflected", async () => {
      const now = await dump(localStore, "cilium/cache/");
      return now.has("cilium/cache/nodes/v1/cluster-2/node-2") && !now.has("cilium/cache/services/v1/cluster-2/default/web");
    });
  });

  test("waits for the remote's canaries before writing its own, and first deletes cache keys left from an earlier run", async (t) => {
    await publishCluster(remote, c2, { canaries: false });
    const stale = { node: "cilium/cache/nodes/v1/cluster-2/node-gone", other: "cilium/cache/nodes/v1/cluster-3/node-1" };
    await localStore.put(stale.node, nodeEntry(c2, 7).value);
    await localStore.put(stale.other, nodeEntry(c3, 1).value);
    await localStore.put("cilium/cache/nodes/v1/cluster-2/node-1", "old bytes");

    const r = reflector(t);
    await waitFor("listing copied", async () => (await localStore.get("cilium/cache/nodes/v1/cluster-2/node-1"))?.value.toString() === nodeEntry(c2, 1).value);
    assert.equal(r.status().synced.nodes, false);
    assert.equal((await dump(localStore, "cilium/synced/")).size, 0, "no cache canary while the remote's own listing may be partial");
    assert.ok(await localStore.get(stale.node), "nothing is deleted before the remote's listing is known complete");

    await publishCanaries(remote, c2);
    await waitFor("ready", () => r.status().ready);
    assert.equal(await localStore.get(stale.node), undefined, "the key the remote no longer has is gone");
    assert.ok(await localStore.get(stale.other), "another remote cluster's cache is not touched");
    assert.deepEqual([...(await dump(localStore, "cilium/synced/")).keys()].sort(), CACHE_CANARIES);
  });

  test("stop with drain deletes the config, the cache and the canaries of that remote only; stop without keeps them", async (t) => {
    await publishCluster(remote, c2);
    await localStore.put("cilium/cache/nodes/v1/cluster-3/node-1", nodeEntry(c3, 1).value);
    const kept = reflector(t);
    await waitFor("ready", () => kept.status().ready);
    await kept.stop();
    assert.equal((await dump(localStore, "cilium/cache/")).size, 5, "a restart of KVStoreMesh leaves the cache for agents to keep using");
    assert.ok(await localStore.get(clusterConfigKey("cluster-2")));

    const drained = reflector(t);
    await waitFor("ready", () => drained.status().ready);
    await drained.stop({ drain: true });
    assert.deepEqual([...(await dump(localStore, "cilium/")).keys()], ["cilium/cache/nodes/v1/cluster-3/node-1"]);
  });

  test("a remote whose config does not fit is not reflected, and an old cache of it is deleted", async (t) => {
    await publishCluster(remote, { ...c2, maxConnectedClusters: 511 });
    await localStore.put(clusterConfigKey("cluster-2"), '{"id":2,"capabilities":{"syncedCanaries":true,"cached":true}}');
    await localStore.put("cilium/cache/nodes/v1/cluster-2/node-1", nodeEntry(c2, 1).value);
    const r = reflector(t);
    await waitFor("refused", () => r.status().notUsedReason !== undefined);
    assert.match(r.status().notUsedReason!, /maxConnectedClusters is 511/);
    await waitFor("old cache deleted", async () => (await dump(localStore, "cilium/")).size === 0);
  });

  test("after losing the remote, keeps the cache (stale); after reconnecting, corrects it", async (t) => {
    await publishCluster(remote, c2);
    await remote.put(nodeEntry(c2, 2).key, nodeEntry(c2, 2).value);
    let reachable = true;
    const r = reflector(t, {
      connect: () => {
        if (!reachable) throw new Error("test: network partition");
        return new EtcdStore(remoteEtcd.config());
      },
    });
    await waitFor("ready", () => r.status().ready);
    const before = await dump(localStore, "cilium/");

    await remoteEtcd.kill();
    await waitFor("loss noticed", () => !r.status().connected && r.status().stale, 15_000);
    assert.deepEqual(await dump(localStore, "cilium/"), before, "the cache is left as it was");

    reachable = false;
    await remoteEtcd.restart();
    await remote.delete(nodeEntry(c2, 2).key);
    await remote.put(nodeEntry(c2, 3).key, nodeEntry(c2, 3).value);
    reachable = true;
    r.retryNow();
    await waitFor("resynced", async () => {
      const now = await dump(localStore, "cilium/cache/nodes/");
      return r.status().ready && !now.has("cilium/cache/nodes/v1/cluster-2/node-2") && now.has("cilium/cache/nodes/v1/cluster-2/node-3");
    }, 15_000);
    assert.equal(r.status().stale, false);
    assert.ok(r.status().reconnections >= 1);
  });
});

test("the Reflector never copies a record of another cluster that the remote's etcd happens to hold", async (t) => {
  const remote = new MemoryStore();
  const localStore = new MemoryStore();
  t.after(async () => {
    await remote.close();
    await localStore.close();
  });
  await publishCluster(remote, c2);
  await remote.put(nodeKey("cluster-2", "node-5"), nodeEntry(c3, 5).value.replace('"Name":"node-5","Cluster":"cluster-3"', '"Name":"node-5","Cluster":"cluster-2"'));
  const r = new Reflector({ name: "cluster-2", local, localStore, connect: () => remote.newClient(), backoff: { initialMs: 50, maxMs: 300 } });
  t.after(() => r.stop());
  r.start();
  await waitFor("ready", () => r.status().ready);
  assert.deepEqual(r.status().rejected, { "cluster-mismatch": 1 }, "node-5 claims cluster ID 3");
  assert.equal(await localStore.get("cilium/cache/nodes/v1/cluster-2/node-5"), undefined);
});
