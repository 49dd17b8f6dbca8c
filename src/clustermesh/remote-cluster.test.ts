import assert from "node:assert/strict";
import { after, before, describe, test, type TestContext } from "node:test";
import { validateClusterInfo } from "../cluster/index.js";
import { EtcdStore, MemoryStore, type KvStore } from "../kvstore/index.js";
import { EtcdProcess, waitFor } from "../kvstore/testing/index.js";
import { encodeIdentity, identityKey, nodeKey, POLICY_CLUSTER_LABEL } from "../state/index.js";
import { RemoteCluster, type RemoteClusterOptions } from "./remote-cluster.js";
import {
  StateRecorder,
  endpointEntry,
  identityEntry,
  identityOf,
  nodeEntry,
  publishCanaries,
  publishCluster,
  publishClusterConfig,
  serviceEntry,
} from "./testing/remote-state.js";

const local = validateClusterInfo({ name: "cluster-1", id: 1 });
const c2 = { name: "cluster-2", id: 2 };
const c3 = { name: "cluster-3", id: 3 };
const fast = { initialMs: 50, maxMs: 300 };

function remote(t: TestContext, options: Partial<RemoteClusterOptions> & Pick<RemoteClusterOptions, "connect">): { rc: RemoteCluster; rec: StateRecorder } {
  const rec = new StateRecorder();
  const rc = new RemoteCluster({ name: c2.name, local, handlers: rec.handlers, backoff: fast, ...options });
  t.after(() => rc.stop());
  rc.start();
  return { rc, rec };
}

async function put(store: KvStore, ...entries: { key: string; value: string }[]): Promise<void> {
  for (const e of entries) await store.put(e.key, e.value);
}

describe("RemoteCluster reading a remote cluster's own etcd (direct mode)", () => {
  let etcd: EtcdProcess;
  let peer: EtcdStore;
  before(async () => {
    etcd = await EtcdProcess.start();
    peer = new EtcdStore(etcd.config());
  });
  after(async () => {
    await peer?.close();
    await etcd?.cleanup();
  });
  const connect = () => new EtcdStore(etcd.config());

  test("reports the remote's nodes, endpoints, identities and services, and is synced only after the remote's canaries", async (t) => {
    await peer.deletePrefix("cilium/");
    await publishClusterConfig(peer, c2);
    await put(peer, nodeEntry(c2, 1), identityEntry(c2, 1), endpointEntry(c2, 1), serviceEntry(c2, "web"));
    const { rc, rec } = remote(t, { connect });

    await waitFor("all four records", () => rec.total() === 4);
    let s = rc.status();
    assert.equal(s.connected, true);
    assert.equal(s.clusterId, 2);
    assert.equal(s.mode, "direct");
    assert.deepEqual(s.synced, { nodes: false, endpoints: false, identities: false, services: false }, "listed, but no canary yet: the listing may be partial");
    assert.equal(s.ready, false);

    await publishCanaries(peer, c2, ["nodes"]);
    await waitFor("nodes synced", () => rc.status().synced.nodes);
    assert.equal(rc.status().ready, false, "the other kinds still wait for their canaries");
    await publishCanaries(peer, c2, ["endpoints", "identities", "services"]);
    await waitFor("ready", () => rc.status().ready);
    s = rc.status();
    assert.deepEqual(s.counts, { nodes: 1, endpoints: 1, identities: 1, services: 1 });
    assert.deepEqual(s.rejected, {});
    assert.equal(s.stale, false);

    const node = rec.get("nodes", nodeKey("cluster-2", "node-1"))!;
    assert.deepEqual([node.cluster, node.name, node.ipv4AllocCidr, node.ipAddresses[0]?.ip], ["cluster-2", "node-1", "100.66.1.0/24", "198.18.2.11"]);
    const identity = rec.get("identities", identityKey(identityOf(c2, 1)))!;
    assert.equal(identity.id, (2 << 16) + 1, "cluster 2's first identity block");
    assert.ok(identity.labels.some((l) => l.key === POLICY_CLUSTER_LABEL && l.value === "cluster-2"));
    assert.deepEqual(rc.records("endpoints").map((e) => [e.ip, e.identity, e.hostIp]), [["100.66.1.11", (2 << 16) + 1, "198.18.2.11"]]);
    assert.deepEqual(rc.records("services").map((x) => `${x.cluster}/${x.namespace}/${x.name}`), ["cluster-2/default/web"]);

    await put(peer, nodeEntry(c2, 2));
    await peer.delete(serviceEntry(c2, "web").key);
    await waitFor("live add and delete", () => rec.events.length === 6);
    assert.deepEqual(rec.events.slice(4), ["upsert nodes cluster-2/node-2", "delete services cluster-2/default/web"]);
  });

  test("a malformed record, an identity outside the remote's range and a record claiming another cluster are refused and counted; the rest is used", async (t) => {
    await peer.deletePrefix("cilium/");
    await publishCluster(peer, c2);
    await peer.put(nodeKey("cluster-2", "node-9"), '{"Name":"node-9",');
    await put(peer, endpointEntry(c2, 5, identityOf(c3, 1)));
    await peer.put(identityKey(identityOf(c3, 7)), encodeIdentity({ id: identityOf(c3, 7), labels: [{ source: "k8s", key: POLICY_CLUSTER_LABEL, value: "cluster-2" }] }));
    await peer.put(nodeKey("cluster-2", "node-8"), nodeEntry(c2, 8).value.replace('"ClusterID":2', '"ClusterID":3'));
    const { rc, rec } = remote(t, { connect });

    await waitFor("ready", () => rc.status().ready);
    const s = rc.status();
    assert.deepEqual(s.counts, { nodes: 1, endpoints: 1, identities: 1, services: 1 }, "only the remote's own, well-formed records");
    assert.deepEqual(s.rejected, { "malformed-json": 1, "identity-out-of-range": 2, "cluster-mismatch": 1 });
    assert.ok(!rec.events.some((e) => /node-9|node-8|100\.66\.1\.15/.test(e)));

    // Fixing a refused record makes it count as any other.
    await put(peer, nodeEntry(c2, 9));
    await waitFor("node-9 accepted once fixed", () => rc.status().counts.nodes === 2);
    assert.deepEqual(rc.status().rejected, s.rejected);
  });
});

describe("RemoteCluster when the remote etcd goes away", () => {
  test("keeps the state (stale) and counts reconnections; once back it is ready again and reports what was deleted meanwhile", async (t) => {
    const etcd = await EtcdProcess.start();
    t.after(() => etcd.cleanup());
    const admin = new EtcdStore(etcd.config());
    t.after(() => admin.close());
    await publishCluster(admin, c2);
    await put(admin, nodeEntry(c2, 2), nodeEntry(c2, 3));
    // The test decides when the remote can be reached again, so that changes can be made while it cannot.
    let reachable = true;
    const { rc, rec } = remote(t, {
      connect: () => {
        if (!reachable) throw new Error("test: network partition");
        return new EtcdStore(etcd.config());
      },
    });
    await waitFor("ready", () => rc.status().ready);
    const eventsBefore = rec.events.length;

    await etcd.kill();
    await waitFor("disconnection noticed", () => !rc.status().connected && rc.status().reconnections >= 2, 15_000);
    let s = rc.status();
    assert.equal(s.stale, true);
    assert.equal(s.ready, false);
    assert.deepEqual(s.counts, { nodes: 3, endpoints: 1, identities: 1, services: 1 }, "state is kept while disconnected");
    assert.equal(rec.events.length, eventsBefore, "nothing reported deleted");
    assert.ok(s.lastFailure && Date.parse(s.lastFailure) <= Date.now());
    assert.ok(s.lastError);

    reachable = false;
    await etcd.restart();
    await admin.delete(nodeEntry(c2, 2).key);
    await admin.put(nodeEntry(c2, 3).key, nodeEntry(c2, 3).value.replace("100.66.3.2", "100.66.3.3"));
    await put(admin, nodeEntry(c2, 4));
    const reconnectionsWhileDown = rc.status().reconnections;
    reachable = true;
    rc.retryNow();

    await waitFor("ready again", () => rc.status().ready, 15_000);
    s = rc.status();
    assert.equal(s.stale, false);
    assert.ok(s.reconnections > reconnectionsWhileDown);
    assert.deepEqual(s.counts, { nodes: 3, endpoints: 1, identities: 1, services: 1 });
    assert.deepEqual(
      rec.events.slice(eventsBefore).sort(),
      ["delete nodes cluster-2/node-2", "upsert nodes cluster-2/node-3", "upsert nodes cluster-2/node-4"],
      "only what changed while down: no repeats for unchanged records",
    );
    assert.equal(rec.get("nodes", nodeKey("cluster-2", "node-3"))!.ipv4HealthIp, "100.66.3.3");
  });

  test("with cacheTtlSeconds, the state of a cluster disconnected longer than that is deleted", async (t) => {
    const etcd = await EtcdProcess.start();
    t.after(() => etcd.cleanup());
    const admin = new EtcdStore(etcd.config());
    t.after(() => admin.close());
    await publishCluster(admin, c2);
    let droppedAt = 0;
    const { rc, rec } = remote(t, { connect: () => new EtcdStore(etcd.config()), cacheTtlSeconds: 1 });
    await waitFor("ready", () => rc.status().ready);
    await etcd.kill();
    await waitFor("disconnection noticed", () => rc.status().lastFailure !== undefined, 15_000);
    const lostAt = Date.parse(rc.status().lastFailure!);
    await waitFor("state dropped", () => {
      if (rec.total() === 0 && droppedAt === 0) droppedAt = Date.now();
      return rec.total() === 0;
    });
    assert.ok(droppedAt - lostAt >= 900, `dropped ${droppedAt - lostAt} ms after the disconnection, not before the 1 s TTL`);
    assert.deepEqual(rec.events.filter((e) => e.startsWith("delete")).sort(), [
      "delete endpoints 100.66.1.11",
      "delete identities 131073",
      "delete nodes cluster-2/node-1",
      "delete services cluster-2/default/web",
    ]);
    assert.equal(rc.status().stale, false);
  });
});

describe("RemoteCluster checks the remote's cluster config", () => {
  test("a remote with another maxConnectedClusters is not used, and status says why; once fixed it is", async (t) => {
    const store = new MemoryStore();
    t.after(() => store.close());
    await publishCluster(store, { ...c2, maxConnectedClusters: 511 });
    const { rc, rec } = remote(t, { connect: () => store.newClient() });
    await waitFor("refused", () => rc.status().notUsedReason !== undefined);
    const s = rc.status();
    assert.match(s.notUsedReason!, /maxConnectedClusters is 511, the local cluster's is 255/);
    assert.equal(s.connected, true);
    assert.equal(s.ready, false);
    assert.equal(rec.events.length, 0, "no record of it is used");

    await publishCluster(store, c2);
    await waitFor("used once the config fits", () => rc.status().ready, 5_000);
    assert.equal(rc.status().notUsedReason, undefined);
    assert.equal(rec.total(), 4);
  });

  test("a remote using the local cluster's ID is not used", async (t) => {
    const store = new MemoryStore();
    t.after(() => store.close());
    await publishCluster(store, { name: "cluster-2", id: 1 });
    const { rc, rec } = remote(t, { connect: () => store.newClient() });
    await waitFor("refused", () => rc.status().notUsedReason !== undefined);
    assert.match(rc.status().notUsedReason!, /cluster ID 1 is also the local cluster's \(cluster-1\)/);
    assert.equal(rec.events.length, 0);
  });

  test("without a cluster config it waits, saying so; an invalid one is not used", async (t) => {
    const store = new MemoryStore();
    t.after(() => store.close());
    const { rc } = remote(t, { connect: () => store.newClient() });
    await waitFor("missing config reported", () => /no cluster configuration at cilium\/cluster-config\/cluster-2/.test(rc.status().lastError ?? ""));
    assert.equal(rc.status().connected, true);
    assert.equal(rc.status().ready, false);
    await store.put("cilium/cluster-config/cluster-2", '{"id":0,"capabilities":{}}');
    await waitFor("invalid config refused", () => rc.status().notUsedReason !== undefined);
    assert.match(rc.status().notUsedReason!, /cluster configuration is invalid: .*non-zero cluster ID/);
    await publishCluster(store, c2);
    await waitFor("ready", () => rc.status().ready);
  });

  test("a config refused after a reconnect takes the remote's state away", async (t) => {
    const store = new MemoryStore();
    t.after(() => store.close());
    await publishCluster(store, c2);
    const { rc, rec } = remote(t, { connect: () => store.newClient() });
    await waitFor("ready", () => rc.status().ready);
    await publishClusterConfig(store, { ...c2, maxConnectedClusters: 511 });
    rc.restart();
    await waitFor("state dropped", () => rec.total() === 0 && rc.status().notUsedReason !== undefined);
    assert.equal(rec.events.filter((e) => e.startsWith("delete")).length, 4);
  });
});

describe("RemoteCluster.stop", () => {
  test("reports every record deleted when asked (the cluster left the mesh), and nothing otherwise", async (t) => {
    const store = new MemoryStore();
    t.after(() => store.close());
    await publishCluster(store, c2);
    const kept = remote(t, { connect: () => store.newClient() });
    const dropped = remote(t, { connect: () => store.newClient() });
    await waitFor("both ready", () => kept.rc.status().ready && dropped.rc.status().ready);
    await kept.rc.stop();
    await dropped.rc.stop({ emitDeletions: true });
    assert.equal(kept.rec.total(), 4);
    assert.equal(kept.rec.events.filter((e) => e.startsWith("delete")).length, 0);
    assert.equal(dropped.rec.total(), 0);
    assert.equal(dropped.rec.events.filter((e) => e.startsWith("delete")).length, 4);
    assert.equal(dropped.rc.status().connected, false);
  });

  test("refuses a name that is not a cluster name and a TTL that is not a positive number", () => {
    assert.throws(() => new RemoteCluster({ name: "Cluster_2", local, connect: () => new MemoryStore() }), /remote cluster name "Cluster_2" is invalid/);
    assert.throws(() => new RemoteCluster({ name: "cluster-2", local, connect: () => new MemoryStore(), cacheTtlSeconds: -1 }), /cacheTtlSeconds must be a positive number of seconds \(got -1\)/);
    assert.throws(() => new RemoteCluster({ name: "cluster-2", local, connect: () => new MemoryStore(), backoff: { initialMs: 0 } }), /backoff.initialMs must be a positive number of milliseconds \(got 0\)/);
  });
});
