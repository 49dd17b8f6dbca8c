import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  HEARTBEAT_KEY,
  STATE_KINDS,
  cachePrefixOf,
  cachedIdentityKey,
  cachedIpcacheKey,
  cachedNodeKey,
  cachedServiceKey,
  clusterConfigKey,
  identityKey,
  identityValueKey,
  ipcacheKey,
  nodeKey,
  parseKey,
  serviceKey,
  statePrefixOf,
  stateToCacheKey,
  stateToCachePrefix,
  syncCanaryKey,
  syncCanaryKeyOf,
} from "./keys.js";

describe("state keys", () => {
  test("builders write Cilium's layout", () => {
    assert.equal(nodeKey("c1", "node-1"), "cilium/state/nodes/v1/c1/node-1");
    assert.equal(identityKey(65541), "cilium/state/identities/v1/id/65541");
    assert.equal(identityValueKey("k8s:app=web;", "198.18.1.11"), "cilium/state/identities/v1/value/k8s:app=web;/198.18.1.11");
    assert.equal(ipcacheKey("100.65.1.7"), "cilium/state/ip/v1/default/100.65.1.7");
    assert.equal(ipcacheKey("100.65.0.0/16"), "cilium/state/ip/v1/default/100.65.0.0/16");
    assert.equal(ipcacheKey("FD00:0::7"), "cilium/state/ip/v1/default/fd00::7");
    assert.equal(serviceKey("c1", "default", "web"), "cilium/state/services/v1/c1/default/web");
    assert.equal(clusterConfigKey("c1"), "cilium/cluster-config/c1");
    assert.equal(HEARTBEAT_KEY, "cilium/.heartbeat");
  });

  test("sync canaries are named after the prefix they vouch for", () => {
    assert.equal(syncCanaryKey("c1", "cilium/state/nodes/v1"), "cilium/synced/c1/cilium/state/nodes/v1");
    assert.equal(syncCanaryKeyOf("identities", "c1"), "cilium/synced/c1/cilium/state/identities/v1");
    assert.equal(syncCanaryKeyOf("ip", "c1"), "cilium/synced/c1/cilium/state/ip/v1");
    assert.equal(syncCanaryKeyOf("services", "c1", "cache"), "cilium/synced/c1/cilium/cache/services/v1");
  });

  test("KVStoreMesh's cache keys", () => {
    assert.equal(cachedNodeKey("c2", "node-1"), "cilium/cache/nodes/v1/c2/node-1");
    assert.equal(cachedIdentityKey("c2", 131080), "cilium/cache/identities/v1/c2/id/131080");
    assert.equal(cachedIpcacheKey("c2", "100.66.1.7"), "cilium/cache/ip/v1/c2/100.66.1.7");
    assert.equal(cachedServiceKey("c2", "default", "web"), "cilium/cache/services/v1/c2/default/web");
  });

  test("builders refuse segments that would break the layout, naming the value", () => {
    assert.throws(() => nodeKey("c1", "a/b"), /node name "a\/b" cannot be used in a key/);
    assert.throws(() => nodeKey("Cluster_1", "n"), /cluster name "Cluster_1"/);
    assert.throws(() => identityKey(0), /identity 0 cannot be used/);
    assert.throws(() => identityKey(1.5), /identity 1.5/);
    assert.throws(() => identityKey(2 ** 24), /global identity/);
    assert.throws(() => ipcacheKey("10.0.0.1/33"), /ipcache prefix "10.0.0.1\/33"/);
    assert.throws(() => ipcacheKey("host-1"), /ipcache address "host-1"/);
    assert.throws(() => serviceKey("c1", "Default", "web"), /namespace "Default"/);
    assert.throws(() => serviceKey("c1", "default", "1web"), /service name "1web"/);
    assert.throws(() => identityValueKey("k8s:a=1", "198.18.1.11"), /ending in ';'/);
    assert.throws(() => identityValueKey("k8s:a=1;", "node-1"), /node's IP address/);
    assert.throws(() => syncCanaryKey("c1", "cilium/state/nodes/v1/"), /no trailing/);
  });
});

describe("parseKey", () => {
  test("each builder's key parses back", () => {
    assert.deepEqual(parseKey(nodeKey("c1", "node-1")), { type: "node", store: "state", cluster: "c1", name: "node-1" });
    assert.deepEqual(parseKey(cachedNodeKey("c2", "n")), { type: "node", store: "cache", cluster: "c2", name: "n" });
    assert.deepEqual(parseKey(identityKey(65541)), { type: "identity", store: "state", id: 65541 });
    assert.deepEqual(parseKey(cachedIdentityKey("c2", 131080)), { type: "identity", store: "cache", cluster: "c2", id: 131080 });
    assert.deepEqual(parseKey(ipcacheKey("100.65.0.0/16")), { type: "ipcache", store: "state", ip: "100.65.0.0/16" });
    assert.deepEqual(parseKey(cachedIpcacheKey("c2", "fd00::1")), { type: "ipcache", store: "cache", cluster: "c2", ip: "fd00::1" });
    assert.deepEqual(parseKey(serviceKey("c1", "default", "web")), { type: "service", store: "state", cluster: "c1", namespace: "default", name: "web" });
    assert.deepEqual(parseKey(cachedServiceKey("c1", "default", "web")), { type: "service", store: "cache", cluster: "c1", namespace: "default", name: "web" });
    assert.deepEqual(parseKey(clusterConfigKey("c1")), { type: "cluster-config", cluster: "c1" });
    assert.deepEqual(parseKey(syncCanaryKeyOf("nodes", "c1")), { type: "sync-canary", cluster: "c1", prefix: "cilium/state/nodes/v1" });
    assert.deepEqual(parseKey(HEARTBEAT_KEY), { type: "heartbeat" });
  });

  test("the node suffix of a reference key is after the last '/', since labels may contain '/'", () => {
    assert.deepEqual(parseKey("cilium/state/identities/v1/value/k8s:app.kubernetes.io/name=web;/198.18.1.11"), {
      type: "identity-value",
      labels: "k8s:app.kubernetes.io/name=web;",
      node: "198.18.1.11",
    });
  });

  test("anything else is not a key of the layout", () => {
    for (const key of [
      "",
      "cilium",
      "cilium/state/nodes/v1/c1",
      "cilium/state/nodes/v1/c1/n/x",
      "cilium/state/nodes/v1//n",
      "cilium/state/identities/v1/id/0",
      "cilium/state/identities/v1/id/01",
      "cilium/state/identities/v1/id/4294967296",
      "cilium/state/ip/v1/default/",
      "cilium/state/ip/v1/default/10.0.0.0/8/1",
      "cilium/state/services/v1/c1/web",
      "cilium/cache/identities/v1/c2/65541",
      "cilium/cache/other/v1/c2/x",
      "cilium/cluster-config/",
      "cilium/synced/c1",
      "cilium/synced/c1/",
      "cilium/.heartbeat/x",
      "other/state/nodes/v1/c1/n",
    ]) {
      assert.equal(parseKey(key), undefined, key);
    }
  });
});

describe("state -> cache mapping (what KVStoreMesh copies where)", () => {
  test("each kind's state key maps to its cache key", () => {
    assert.equal(stateToCacheKey("cilium/state/nodes/v1/c2/node-1", "c2"), "cilium/cache/nodes/v1/c2/node-1");
    assert.equal(stateToCacheKey("cilium/state/identities/v1/id/131080", "c2"), "cilium/cache/identities/v1/c2/id/131080");
    assert.equal(stateToCacheKey("cilium/state/ip/v1/default/100.66.1.7", "c2"), "cilium/cache/ip/v1/c2/100.66.1.7");
    assert.equal(stateToCacheKey("cilium/state/ip/v1/default/100.66.0.0/16", "c2"), "cilium/cache/ip/v1/c2/100.66.0.0/16");
    assert.equal(stateToCacheKey("cilium/state/services/v1/c2/default/web", "c2"), "cilium/cache/services/v1/c2/default/web");
  });

  test("keys that are not the cluster's exported state are not mapped", () => {
    assert.equal(stateToCacheKey("cilium/state/nodes/v1/c3/node-1", "c2"), undefined);
    assert.equal(stateToCacheKey("cilium/state/identities/v1/value/k8s:a=1;/198.18.2.11", "c2"), undefined);
    assert.equal(stateToCacheKey("cilium/cluster-config/c2", "c2"), undefined);
    assert.equal(stateToCacheKey("cilium/state/nodes/v1/c2/", "c2"), undefined);
  });

  test("prefixes: mapping every state prefix gives the cache prefix", () => {
    for (const kind of STATE_KINDS) {
      const probe = `${statePrefixOf(kind, "c7")}x`;
      assert.equal(stateToCacheKey(probe, "c7"), `${cachePrefixOf(kind, "c7")}x`, kind);
    }
    assert.equal(stateToCachePrefix("cilium/state/nodes/v1"), "cilium/cache/nodes/v1");
    assert.equal(stateToCachePrefix("cilium/cluster-config"), "cilium/cluster-config");
  });
});
