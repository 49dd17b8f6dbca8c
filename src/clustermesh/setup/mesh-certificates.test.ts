import { test } from "node:test";
import assert from "node:assert/strict";
import { writeClusterCa } from "../../install/cluster-ca.js";
import { MemoryStore } from "../../kvstore/memory-store.js";
import { createCertificateAuthority, DAY_MS, issueCertificate } from "../../pki/certificates.js";
import { addMeshPeer } from "../mesh-secret.js";
import { meshCertificates } from "./mesh-certificates.js";
import { formatMeshStatus, meshStatusReport } from "./mesh-status.js";
import type { MeshSettings } from "./mesh-settings.js";
import { ensureRemoteCert } from "./remote-cert.js";

const T0 = new Date("2026-03-01T00:00:00Z");
const settings: MeshSettings = { enabled: true, serviceType: "LoadBalancer", kvstoremesh: true, port: 2379, cacheTtlSeconds: 0, tlsAutoMethod: "cronJob", certValidityDays: 30 };

test("clustermesh status lists the own certificate as renewed here, and flags an old copy of a peer's from the shared CA with the way out", async (t) => {
  const store = new MemoryStore();
  t.after(() => store.close());
  const ca = await createCertificateAuthority("shared CA", 3650, new Date(T0.getTime() - DAY_MS));
  await writeClusterCa(store, ca);
  // Renewed here on day 20; the copy below dates from day 0.
  await ensureRemoteCert(store, ca, { validityDays: 30, now: new Date(T0.getTime() + 20 * DAY_MS) });
  // An entry from an older connect: cluster-2's certificate copied in.
  const copy = await issueCertificate(ca, { commonName: "remote", usage: "client", validityDays: 30, now: T0 });
  await addMeshPeer(store, { name: "cluster-2", endpoints: ["https://198.19.2.129:2379"], tls: { ca: ca.certPem, cert: copy.certPem, key: copy.keyPem } });
  await addMeshPeer(store, { name: "cluster-3", endpoints: ["https://198.19.3.129:2379"], ownCert: true });

  const certs = await meshCertificates(store, "cluster-1", settings, new Date(T0.getTime() + 25 * DAY_MS));
  assert.deepEqual(certs.map((c) => [c.name, c.renewedHere]), [["remote", true], ["cluster-2", false]], "cluster-3 uses the own certificate: not listed twice");
  assert.equal(certs[0]!.attention, undefined);
  assert.match(certs[1]!.attention!, /copy of cluster-2's remote certificate: run "trellis clustermesh connect" again: cluster-2 shares this cluster's CA, so connecting again makes this cluster use its own certificate/);

  const text = formatMeshStatus(meshStatusReport({ cluster: "cluster-1", settings, endpoints: ["https://198.19.1.129:2379"], nodes: [], agents: [], globalServices: 0, certificates: certs }));
  assert.match(text, /🔐 Certificate of user "remote" valid until 2026-04-20T00:00:00\.000Z, renewed automatically/);
  assert.match(text, /⚠️ {2}Certificate for cluster-2 \(a copy of its remote certificate\) valid until 2026-03-31/);
});

test("without tls.auto the own certificate is flagged in its last third", async (t) => {
  const store = new MemoryStore();
  t.after(() => store.close());
  const ca = await createCertificateAuthority("ca", 3650, new Date(T0.getTime() - DAY_MS));
  await writeClusterCa(store, ca);
  await ensureRemoteCert(store, ca, { validityDays: 30, now: T0 });
  const manual = { ...settings, tlsAutoMethod: undefined };
  assert.equal((await meshCertificates(store, "cluster-1", manual, new Date(T0.getTime() + 10 * DAY_MS)))[0]!.attention, undefined);
  const late = await meshCertificates(store, "cluster-1", manual, new Date(T0.getTime() + 25 * DAY_MS));
  assert.match(late[0]!.attention!, /not renewed automatically: set clustermesh\.apiserver\.tls\.auto\.method/);
  assert.equal(late[0]!.renewedHere, false);
});
