import assert from "node:assert/strict";
import { test } from "node:test";
import { MemoryStore } from "../kvstore/index.js";
import { waitFor } from "../kvstore/testing/index.js";
import { ConfigWatcher, type MeshConfig } from "./config-watcher.js";
import { MESH_SECRET_KEY, OWN_CERT_SECRET_KEY, addMeshPeer, removeMeshPeer, writeMeshSecret } from "./mesh-secret.js";

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

test("a renewed own remote certificate reaches the peers that log in with it, and only those", async (t) => {
  const store = new MemoryStore();
  const seen: MeshConfig[] = [];
  const watcher = new ConfigWatcher(store, { localCluster: "cluster-1", onChange: (c) => seen.push(c) });
  t.after(async () => {
    await watcher.stop();
    await store.close();
  });
  const pem = (kind: string, body: string) => `-----BEGIN ${kind}-----\n${body}\n-----END ${kind}-----\n`;
  const ownCert = (n: number) => writeMeshSecret(store, { "tls.crt": Buffer.from(pem("CERTIFICATE", `own-${n}`)), "tls.key": Buffer.from(pem("PRIVATE KEY", `own-${n}`)), "ca.crt": Buffer.from(pem("CERTIFICATE", "ca")) }, OWN_CERT_SECRET_KEY);
  await ownCert(1);
  await addMeshPeer(store, { name: "cluster-2", endpoints: ["https://198.19.2.129:2379"], ownCert: true });
  await addMeshPeer(store, { name: "cluster-3", endpoints: ["https://198.19.3.129:2379"], tls: { ca: pem("CERTIFICATE", "ca-3"), cert: pem("CERTIFICATE", "copy-3"), key: pem("PRIVATE KEY", "copy-3") } });
  await watcher.waitSynced();
  await waitFor("both peers", () => seen.at(-1)?.peers.length === 2);
  const tlsOf = (name: string) => seen.at(-1)!.peers.find((p) => p.name === name)!.tls!;
  assert.match(tlsOf("cluster-2").cert!, /own-1/);
  const copy = tlsOf("cluster-3");

  await ownCert(2);
  await waitFor("renewed certificate seen", () => /own-2/.test(tlsOf("cluster-2").cert!));
  assert.match(tlsOf("cluster-2").key!, /own-2/);
  assert.deepEqual(tlsOf("cluster-3"), copy, "a peer with its own material is untouched");

  // The certificate secret goes away (mesh disabled): the peer using it is reported, not dropped silently.
  await store.delete(OWN_CERT_SECRET_KEY);
  await waitFor("problem reported", () => seen.at(-1)?.problems.some((p) => p.peer === "cluster-2") === true);
  assert.deepEqual(seen.at(-1)!.peers.map((p) => p.name), ["cluster-3"]);
});
