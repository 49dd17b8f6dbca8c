import assert from "node:assert/strict";
import { test } from "node:test";
import { MemoryStore } from "../kvstore/index.js";
import { waitFor } from "../kvstore/testing/index.js";
import { ConfigWatcher, type MeshConfig } from "./config-watcher.js";
import { MESH_SECRET_KEY, addMeshPeer, removeMeshPeer, writeMeshSecret } from "./mesh-secret.js";

test("the config watcher emits the peer set once read, on every change, and keeps the last good peers over a broken document", async (t) => {
  const store = new MemoryStore();
  const seen: MeshConfig[] = [];
  const watcher = new ConfigWatcher(store, { localCluster: "cluster-1", onChange: (c) => seen.push(c) });
  t.after(async () => {
    await watcher.stop();
    await store.close();
  });
  await watcher.waitSynced();
  assert.deepEqual(seen.slice(), [{ present: false, peers: [], ignored: [], problems: [] }], "no secret yet: no peers");

  await addMeshPeer(store, { name: "cluster-2", endpoints: ["http://127.0.0.1:2379"] });
  await waitFor("cluster-2 added", () => seen.at(-1)?.peers.length === 1);
  await addMeshPeer(store, { name: "cluster-1", endpoints: ["http://127.0.0.1:2380"] });
  await waitFor("self entry ignored", () => seen.at(-1)?.ignored.length === 1);
  assert.deepEqual(seen.at(-1)!.peers.map((p) => p.name), ["cluster-2"]);
  // A key that only starts with the secret's key is another secret.
  await store.put(`${MESH_SECRET_KEY}-other`, "{}");

  await store.put(MESH_SECRET_KEY, "{not json");
  await waitFor("broken document reported", () => seen.at(-1)?.documentProblem !== undefined);
  assert.match(seen.at(-1)!.documentProblem!, /is not JSON/);
  assert.deepEqual(seen.at(-1)!.peers.map((p) => p.name), ["cluster-2"], "a botched edit does not disconnect the mesh");

  await writeMeshSecret(store, { "cluster-3": Buffer.from("endpoints:\n- http://127.0.0.1:2381\n") });
  await waitFor("cluster-3 replaces cluster-2", () => seen.at(-1)?.peers[0]?.name === "cluster-3");
  assert.equal(seen.at(-1)!.documentProblem, undefined);
  await removeMeshPeer(store, "cluster-3");
  await waitFor("no peers", () => seen.at(-1)?.peers.length === 0 && seen.at(-1)?.present === true);
  await store.delete(MESH_SECRET_KEY);
  await waitFor("secret gone", () => seen.at(-1)?.present === false);
  assert.equal(seen.filter((c) => c.documentProblem === undefined && c.present && c.peers.length === 0 && c.ignored.length === 0).length, 1);
  assert.deepEqual(watcher.current(), seen.at(-1));
});
