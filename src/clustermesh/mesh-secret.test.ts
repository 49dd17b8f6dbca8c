import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MemoryStore } from "../kvstore/index.js";
import {
  MESH_SECRET_KEY,
  MeshSecretError,
  addMeshPeer,
  decodeSecret,
  encodeSecret,
  meshSecretEntries,
  ownCertFiles,
  parseMeshSecret,
  readMeshSecret,
  removeMeshPeer,
  writeMeshSecret,
  type SecretData,
} from "./mesh-secret.js";
import type { PeerConfig } from "./peer-config.js";

const CA = "-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n";
const CERT = "-----BEGIN CERTIFICATE-----\nclient\n-----END CERTIFICATE-----\n";
const KEY = "-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n";

const text = (s: string) => Buffer.from(s);

/** What `kubectl create secret generic cilium-clustermesh --from-file=...` would hold for two clusters. */
function secretFor(...names: string[]): SecretData {
  const data: SecretData = {};
  for (const name of names) {
    data[name] = text(
      [
        "endpoints:",
        `- https://clustermesh-apiserver.${name}.mesh:2379`,
        `trusted-ca-file: /var/lib/cilium/clustermesh/${name}.etcd-client-ca.crt`,
        `key-file: /var/lib/cilium/clustermesh/${name}.etcd-client.key`,
        `cert-file: /var/lib/cilium/clustermesh/${name}.etcd-client.crt`,
        "",
      ].join("\n"),
    );
    data[`${name}.etcd-client-ca.crt`] = text(CA + name);
    data[`${name}.etcd-client.crt`] = text(CERT + name);
    data[`${name}.etcd-client.key`] = text(KEY + name);
  }
  return data;
}

describe("parseMeshSecret", () => {
  test("resolves the files a peer's etcd config names by base name among the secret's keys", () => {
    const { peers, ignored, problems } = parseMeshSecret(secretFor("cluster-2"), "cluster-1");
    assert.deepEqual(problems, []);
    assert.deepEqual(ignored, []);
    assert.deepEqual(peers, [
      { name: "cluster-2", endpoints: ["https://clustermesh-apiserver.cluster-2.mesh:2379"], tls: { ca: CA + "cluster-2", cert: CERT + "cluster-2", key: KEY + "cluster-2" } },
    ]);
  });

  test("one secret serves every cluster: each ignores the entry naming itself", () => {
    const data = secretFor("cluster-1", "cluster-2", "cluster-3");
    const seenBy1 = parseMeshSecret(data, "cluster-1");
    assert.deepEqual(seenBy1.peers.map((p) => p.name), ["cluster-2", "cluster-3"]);
    assert.deepEqual(seenBy1.ignored, ["cluster-1"]);
    const seenBy3 = parseMeshSecret(data, "cluster-3");
    assert.deepEqual(seenBy3.peers.map((p) => p.name), ["cluster-1", "cluster-2"]);
    assert.deepEqual(seenBy3.ignored, ["cluster-3"]);
  });

  test("a broken entry is reported with what is wrong, and the others are kept", () => {
    const data = secretFor("cluster-2", "cluster-3", "cluster-4", "cluster-5");
    delete data["cluster-2.etcd-client-ca.crt"];
    data["cluster-3"] = text("endpoints: [unterminated");
    data["cluster-4"] = text("endpoints: []\n");
    data["Bad_Name"] = text("endpoints:\n- http://x:2379\n");
    const { peers, problems } = parseMeshSecret(data, "cluster-1");
    assert.deepEqual(peers.map((p) => p.name), ["cluster-5"]);
    const byPeer = Object.fromEntries(problems.map((p) => [p.peer, p.message]));
    assert.deepEqual(Object.keys(byPeer).sort(), ["Bad_Name", "cluster-2", "cluster-3", "cluster-4"]);
    assert.match(byPeer["cluster-2"]!, /trusted-ca-file \/var\/lib\/cilium\/clustermesh\/cluster-2\.etcd-client-ca\.crt names file "cluster-2\.etcd-client-ca\.crt", which is not a key of the secret/);
    assert.match(byPeer["cluster-3"]!, /not valid YAML/);
    assert.match(byPeer["cluster-4"]!, /"endpoints" must list URLs .* \(got \[\]\)/);
    assert.match(byPeer["Bad_Name"]!, /"Bad_Name" is not a valid cluster name/);
  });

  test("refuses what it cannot honour instead of connecting differently than asked", () => {
    const data: SecretData = {
      "no-ca": text("endpoints:\n- https://a:2379\n"),
      password: text("endpoints:\n- http://a:2379\nusername: u\npassword: p\n"),
      "no-port": text("endpoints:\n- http://a\n"),
      "bad-pem": text("endpoints:\n- https://a:2379\ntrusted-ca-file: /x/bad-pem.ca\n"),
      "bad-pem.ca": text("not a certificate"),
      plain: text("endpoints:\n- http://127.0.0.1:2379\n"),
    };
    const { peers, problems } = parseMeshSecret(data, "cluster-1");
    assert.deepEqual(peers, [{ name: "plain", endpoints: ["http://127.0.0.1:2379"] }]);
    const byPeer = Object.fromEntries(problems.map((p) => [p.peer, p.message]));
    assert.match(byPeer["no-ca"]!, /https endpoints need trusted-ca-file/);
    assert.match(byPeer["password"]!, /username\/password authentication is not supported/);
    assert.match(byPeer["no-port"]!, /has no port/);
    assert.match(byPeer["bad-pem"]!, /trusted CA is not PEM/);
  });

  test("meshSecretEntries writes Cilium CLI's layout, and parsing it gives the peer back", () => {
    const peer: PeerConfig = { name: "cluster-7", endpoints: ["https://198.19.7.1:2379", "https://198.19.7.2:2379"], tls: { ca: CA, cert: CERT, key: KEY } };
    const entries = meshSecretEntries(peer);
    assert.deepEqual(Object.keys(entries).sort(), ["cluster-7", "cluster-7.etcd-client-ca.crt", "cluster-7.etcd-client.crt", "cluster-7.etcd-client.key"]);
    assert.equal(
      entries["cluster-7"]!.toString(),
      [
        "endpoints:",
        "- https://198.19.7.1:2379",
        "- https://198.19.7.2:2379",
        "trusted-ca-file: /var/lib/cilium/clustermesh/cluster-7.etcd-client-ca.crt",
        "key-file: /var/lib/cilium/clustermesh/cluster-7.etcd-client.key",
        "cert-file: /var/lib/cilium/clustermesh/cluster-7.etcd-client.crt",
        "",
      ].join("\n"),
    );
    assert.deepEqual(parseMeshSecret(entries, "cluster-1").peers, [peer]);
    assert.throws(() => meshSecretEntries({ name: "Nope", endpoints: ["http://a:1"] }), /peer name "Nope" is not a valid cluster name/);
  });

  test("a peer reached with the cluster's own certificate names the common- files, as Cilium's chart writes it, and resolves to the current certificate", () => {
    const entries = meshSecretEntries({ name: "cluster-7", endpoints: ["https://198.19.7.129:2379"], ownCert: true });
    assert.deepEqual(Object.keys(entries), ["cluster-7"], "no copy of any certificate goes into the secret");
    assert.equal(
      entries["cluster-7"]!.toString(),
      [
        "endpoints:",
        "- https://198.19.7.129:2379",
        "trusted-ca-file: /var/lib/cilium/clustermesh/common-etcd-client-ca.crt",
        "key-file: /var/lib/cilium/clustermesh/common-etcd-client.key",
        "cert-file: /var/lib/cilium/clustermesh/common-etcd-client.crt",
        "",
      ].join("\n"),
    );
    const first = ownCertFiles({ "tls.crt": text(CERT + "1"), "tls.key": text(KEY + "1"), "ca.crt": text(CA) });
    assert.deepEqual(parseMeshSecret(entries, "cluster-1", first).peers, [{ name: "cluster-7", endpoints: ["https://198.19.7.129:2379"], tls: { ca: CA, cert: CERT + "1", key: KEY + "1" } }]);
    const renewed = ownCertFiles({ "tls.crt": text(CERT + "2"), "tls.key": text(KEY + "2"), "ca.crt": text(CA) });
    assert.equal(parseMeshSecret(entries, "cluster-1", renewed).peers[0]!.tls!.cert, CERT + "2");
    // Without the cluster's own certificate the entry cannot be used, and the problem says why.
    const none = parseMeshSecret(entries, "cluster-1");
    assert.deepEqual(none.peers, []);
    assert.match(none.problems[0]!.message, /common-etcd-client-ca\.crt is this cluster's own remote certificate \(secret kube-system\/clustermesh-apiserver-remote-cert\), which does not exist yet: run "trellis clustermesh enable"/);
    assert.throws(() => meshSecretEntries({ name: "cluster-7", endpoints: ["http://198.19.7.129:2379"], ownCert: true }), /needs https:\/\/ endpoints/);
  });
});

describe("the secret in the local store", () => {
  test("is Kubernetes-shaped JSON with base64 data at trellis/secrets/kube-system/cilium-clustermesh", async () => {
    const store = new MemoryStore();
    await writeMeshSecret(store, { "cluster-2": text("endpoints:\n- http://a:2379\n") });
    const raw = JSON.parse((await store.get(MESH_SECRET_KEY))!.value.toString());
    assert.deepEqual(raw, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "cilium-clustermesh", namespace: "kube-system" },
      type: "Opaque",
      data: { "cluster-2": Buffer.from("endpoints:\n- http://a:2379\n").toString("base64") },
    });
    assert.equal((await readMeshSecret(store))!["cluster-2"]!.toString(), "endpoints:\n- http://a:2379\n");
    assert.equal(await readMeshSecret(new MemoryStore()), undefined);
  });

  test("adding and removing a peer keeps the other peers' entries", async () => {
    const store = new MemoryStore();
    await addMeshPeer(store, { name: "cluster-2", endpoints: ["https://a:2379"], tls: { ca: CA, cert: CERT, key: KEY } });
    await addMeshPeer(store, { name: "cluster-3", endpoints: ["http://b:2379"] });
    await addMeshPeer(store, { name: "cluster-2", endpoints: ["https://c:2379"], tls: { ca: CA } });
    let data = (await readMeshSecret(store))!;
    assert.deepEqual(Object.keys(data).sort(), ["cluster-2", "cluster-2.etcd-client-ca.crt", "cluster-3"], "replacing cluster-2 dropped its old client certificate files");
    assert.deepEqual(parseMeshSecret(data, "cluster-1").peers.map((p) => `${p.name} ${p.endpoints.join(",")}`), ["cluster-2 https://c:2379", "cluster-3 http://b:2379"]);
    assert.equal(await removeMeshPeer(store, "cluster-2"), true);
    assert.equal(await removeMeshPeer(store, "cluster-9"), false);
    data = (await readMeshSecret(store))!;
    assert.deepEqual(Object.keys(data), ["cluster-3"]);
  });

  test("a document that is not a secret is refused with the reason", () => {
    assert.throws(() => decodeSecret("k", "{nope"), (e: Error) => e instanceof MeshSecretError && /secret k is not JSON/.test(e.message));
    assert.throws(() => decodeSecret("k", JSON.stringify({ kind: "ConfigMap" })), /has kind "ConfigMap"; expected "Secret"/);
    assert.throws(() => decodeSecret("k", JSON.stringify({ kind: "Secret", data: { a: "***" } })), /data key "a" must hold a base64 string/);
    assert.throws(() => encodeSecret({ namespace: "kube-system", name: "s", data: { "a/b": text("x") } }), /data key "a\/b" may only contain/);
  });
});
