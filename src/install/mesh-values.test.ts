import { test } from "node:test";
import assert from "node:assert/strict";
import { createCertificateAuthority, issueCertificate } from "../pki/certificates.js";
import { peersFromValues } from "./mesh-values.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");

function clusters(entry: Record<string, unknown>) {
  return { clustermesh: { config: { enabled: true, clusters: [{ name: "cluster-1", address: "", port: 2379, ips: ["198.19.1.129"], ...entry }] } } };
}

test("a peer without tls.cert/key is reached with the cluster's own remote certificate, as Cilium's chart does", async () => {
  const ca = await createCertificateAuthority("shared CA");
  const r = peersFromValues(clusters({}), ca.certPem, { ownCert: true });
  assert.deepEqual(r.peers, [{ name: "cluster-1", endpoints: ["https://198.19.1.129:2379"], ownCert: true }]);
  assert.deepEqual(r.notes, []);
  // Before the mesh is enabled there is no own certificate yet: said, not refused.
  assert.match(peersFromValues(clusters({}), ca.certPem).notes.join("\n"), /no tls.cert\/key: it is reached with this cluster's own remote certificate/);
});

test("seed 002's pasted remote certificate of the shared CA gives way to the cluster's own, renewable one", async () => {
  const ca = await createCertificateAuthority("shared CA");
  const peers = await issueCertificate(ca, { commonName: "remote", usage: "client" });
  const values = clusters({ tls: { cert: b64(peers.certPem), key: b64(peers.keyPem) } });
  const r = peersFromValues(values, ca.certPem, { ownCert: true });
  assert.deepEqual(r.peers, [{ name: "cluster-1", endpoints: ["https://198.19.1.129:2379"], ownCert: true }]);
  assert.match(r.notes[0]!, /clusters\[0\]\.tls is a "remote" certificate of the CA cluster-1 shares with this cluster/);
  // Without an own certificate (mesh not enabled here) the pasted one is used as given.
  assert.deepEqual(peersFromValues(values, ca.certPem).peers, [{ name: "cluster-1", endpoints: ["https://198.19.1.129:2379"], tls: { ca: ca.certPem, cert: peers.certPem, key: peers.keyPem } }]);
});

test("a certificate from another CA, or for another user, is used as given", async () => {
  const ca = await createCertificateAuthority("cluster-2 CA");
  const other = await createCertificateAuthority("cluster-1 CA");
  const foreign = await issueCertificate(other, { commonName: "remote", usage: "client" });
  const r = peersFromValues(clusters({ tls: { cert: b64(foreign.certPem), key: b64(foreign.keyPem), caCert: b64(other.certPem) } }), ca.certPem, { ownCert: true });
  assert.deepEqual(r.peers, [{ name: "cluster-1", endpoints: ["https://198.19.1.129:2379"], tls: { ca: other.certPem, cert: foreign.certPem, key: foreign.keyPem } }]);
  const admin = await issueCertificate(ca, { commonName: "admin-cluster-1", usage: "client" });
  const a = peersFromValues(clusters({ tls: { cert: b64(admin.certPem), key: b64(admin.keyPem) } }), ca.certPem, { ownCert: true });
  assert.equal("tls" in a.peers[0]! && a.peers[0].tls?.cert, admin.certPem);
  assert.throws(() => peersFromValues(clusters({ tls: { cert: "bm90IGEgY2VydA==", key: b64(admin.keyPem) } }), ca.certPem), /tls.cert is not base64 of a PEM block/);
});
