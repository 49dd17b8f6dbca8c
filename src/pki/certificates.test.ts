import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { createCertificateAuthority, describeCertificate, isIssuedBy, issueCertificate, needsRenewal } from "./certificates.js";

test("a CA issues server and client certificates that chain to it and carry their names", async () => {
  const ca = await createCertificateAuthority("cluster-1 CA");
  const server = await issueCertificate(ca, { commonName: "clustermesh-apiserver", usage: "server", dnsNames: ["localhost", "clustermesh-apiserver.cluster-1.trellis"], ipAddresses: ["198.18.1.2", "127.0.0.1"] });
  const client = await issueCertificate(ca, { commonName: "remote", usage: "client" });
  assert.ok(isIssuedBy(server.certPem, ca.certPem));
  assert.ok(isIssuedBy(client.certPem, ca.certPem));
  const s = new X509Certificate(server.certPem);
  assert.match(s.subjectAltName ?? "", /DNS:localhost/);
  assert.match(s.subjectAltName ?? "", /IP Address:198\.18\.1\.2/);
  assert.equal(s.checkIP("198.18.1.2"), "198.18.1.2");
  assert.equal(describeCertificate(client.certPem).subjectCommonName, "remote");
  assert.equal(describeCertificate(client.certPem).issuerCommonName, "cluster-1 CA");
  assert.match(client.keyPem, /BEGIN PRIVATE KEY/);
});

test("a certificate from another CA does not chain", async () => {
  const a = await createCertificateAuthority("a");
  const b = await createCertificateAuthority("b");
  const c = await issueCertificate(a, { commonName: "x", usage: "client" });
  assert.equal(isIssuedBy(c.certPem, b.certPem), false);
});

test("renewal is due in the last third of the lifetime", async () => {
  const ca = await createCertificateAuthority("ca");
  const start = new Date("2026-01-01T00:00:00Z");
  const c = await issueCertificate(ca, { commonName: "x", usage: "both", validityDays: 30, notBefore: start });
  assert.equal(needsRenewal(c.certPem, new Date("2026-01-15T00:00:00Z")), false);
  assert.equal(needsRenewal(c.certPem, new Date("2026-01-25T00:00:00Z")), true);
});
