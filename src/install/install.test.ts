import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryStore } from "../kvstore/memory-store.js";
import { keys } from "../resources/keys.js";
import { parseSets } from "./helm-set.js";
import { installValues } from "./install.js";
import { testClusterSettings } from "../resources/testing/cluster-settings.js";

const base = testClusterSettings();

async function cluster(pods = 0): Promise<MemoryStore> {
  const store = new MemoryStore();
  await store.put(keys.clusterSettings(), JSON.stringify(base));
  for (let i = 0; i < pods; i++) await store.put(keys.pod("default", `p${i}`), "{}");
  return store;
}

test("seed 003's install flags set the name and ID; the same values again change nothing", async () => {
  const store = await cluster();
  const r = await installValues(store, parseSets(["cluster.name=east", "cluster.id=7"]));
  assert.deepEqual(r.changes, ["cluster.name: cluster-1 -> east", "cluster.id: 1 -> 7"]);
  assert.equal(r.settings.podPool, "100.65.0.0/16", "settings the values do not name are kept");
  const again = await installValues(store, parseSets(["cluster.name=east", "cluster.id=7"]));
  assert.deepEqual(again.changes, []);
  const stored = JSON.parse((await store.get(keys.clusterSettings()))!.value.toString()) as { name: string; id: number };
  assert.deepEqual([stored.name, stored.id], ["east", 7]);
});

test("invalid names and IDs are refused with the rule and the value", async () => {
  const store = await cluster();
  await assert.rejects(installValues(store, parseSets(["cluster.name=Cluster_1"])), /cluster name "Cluster_1" is invalid/);
  await assert.rejects(installValues(store, parseSets(["cluster.id=256"])), /256/);
  await assert.rejects(installValues(store, parseSets(["cluster.id=300,maxConnectedClusters=511"])).then(() => "ok"), /maxConnectedClusters/, "changing maxConnectedClusters later is refused");
  await assert.rejects(installValues(store, parseSets(["routingMode=geneve"])), /routingMode must be tunnel or native/);
  assert.equal(JSON.parse((await store.get(keys.clusterSettings()))!.value.toString()).name, "cluster-1", "nothing changed");
});

test("renaming a cluster that runs workloads is refused unless forced", async () => {
  const store = await cluster(3);
  await assert.rejects(installValues(store, parseSets(["cluster.id=2"])), /cluster-1 runs 3 pod\(s\).*security identity.*--force/);
  const r = await installValues(store, parseSets(["cluster.id=2"]), { force: true });
  assert.deepEqual(r.changes, ["cluster.id: 1 -> 2"]);
});

test("unknown values are kept and listed", async () => {
  const store = await cluster();
  const r = await installValues(store, parseSets(["hubble.enabled=true", "cluster.name=cluster-1"]));
  assert.deepEqual(r.unknown, ["hubble.enabled"]);
});

test("policyDefaultLocalCluster reaches the cluster settings under either name, without counting as an identity change", async () => {
  const store = await cluster(3);
  const r = await installValues(store, parseSets(["policyDefaultLocalCluster=false"]));
  assert.deepEqual(r.changes, [], "nothing about the cluster's identity changed: no restart");
  assert.deepEqual(r.liveChanges, ["policyDefaultLocalCluster: true -> false"]);
  assert.equal(JSON.parse((await store.get(keys.clusterSettings()))!.value.toString()).policyDefaultLocalCluster, false);
  assert.deepEqual((await installValues(store, parseSets(["cluster.name=cluster-1"]))).liveChanges, [], "a later upgrade keeps the stored value");

  const chart = await cluster();
  assert.deepEqual((await installValues(chart, parseSets(["clustermesh.policyDefaultLocalCluster=false"]))).liveChanges, ["policyDefaultLocalCluster: true -> false"]);
  await assert.rejects(installValues(chart, parseSets(["policyDefaultLocalCluster=true"])), /policyDefaultLocalCluster=true and clustermesh.policyDefaultLocalCluster=false disagree/);
  await assert.rejects(installValues(chart, parseSets(["clustermesh.policyDefaultLocalCluster=no"])), /clustermesh.policyDefaultLocalCluster must be true or false \(got "no"\)/);
});
