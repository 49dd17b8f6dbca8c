import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { addMeshPeer } from "../clustermesh/mesh-secret.js";
import { MemoryStore } from "../kvstore/memory-store.js";
import { AgentMesh } from "./agent-mesh.js";
import { NodeCache } from "./node-cache.js";

function mesh(store: MemoryStore): AgentMesh {
  return new AgentMesh({
    local: { name: "cluster-1", id: 1, maxConnectedClusters: 255 },
    store,
    cacheStore: store,
    nodes: new NodeCache(),
    onChange: () => undefined,
    logger: pino({ level: "silent" }),
  });
}

test("waitRemotesSynced: at once without peers; false at the deadline while a peer cannot be reached", async (t) => {
  const store = new MemoryStore();
  const m = mesh(store);
  t.after(async () => {
    await m.stop();
    await store.close();
  });
  m.start();
  assert.equal(await m.waitRemotesSynced(5000), true, "no mesh configured: nothing to wait for");

  // Nothing listens on port 1 of loopback: the peer stays not ready.
  await addMeshPeer(store, { name: "cluster-2", endpoints: ["http://127.0.0.1:1"] });
  const m2 = mesh(store);
  t.after(() => m2.stop());
  m2.start();
  const started = Date.now();
  assert.equal(await m2.waitRemotesSynced(1500), false);
  assert.ok(Date.now() - started >= 1400, "it waited for the deadline");
  assert.equal(m2.status()?.clusters[0]?.name, "cluster-2", "the peer from the mesh secret was being waited for");
});
