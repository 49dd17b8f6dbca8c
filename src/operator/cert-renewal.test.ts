import { test } from "node:test";
import assert from "node:assert/strict";
import { addMeshPeer } from "../clustermesh/mesh-secret.js";
import { writeMeshSettings, type MeshSettings } from "../clustermesh/setup/mesh-settings.js";
import { ensureRemoteCert, readRemoteCert } from "../clustermesh/setup/remote-cert.js";
import { writeClusterCa } from "../install/cluster-ca.js";
import { MemoryStore } from "../kvstore/memory-store.js";
import { waitFor } from "../kvstore/testing/index.js";
import { createCertificateAuthority, DAY_MS, describeCertificate, issueCertificate, type KeyPairPem } from "../pki/certificates.js";
import { CertRenewal, type EtcdServerCertificate } from "./cert-renewal.js";

const T0 = new Date("2026-03-01T00:00:00Z");
const at = (days: number) => new Date(T0.getTime() + days * DAY_MS);

async function cluster(mesh: Partial<MeshSettings>, o: { validityDays?: number; issuedAt?: Date } = {}) {
  const store = new MemoryStore();
  const ca = await createCertificateAuthority("cluster-1 CA", 3650, at(-1));
  await writeClusterCa(store, ca);
  await writeMeshSettings(store, { enabled: true, serviceType: "LoadBalancer", kvstoremesh: true, port: 2379, cacheTtlSeconds: 0, ...mesh });
  await ensureRemoteCert(store, ca, { validityDays: o.validityDays ?? 30, now: o.issuedAt ?? T0 });
  return { store, ca };
}

const serial = async (store: MemoryStore) => describeCertificate((await readRemoteCert(store))!.certPem).serialNumber;

/** etcd's server certificate as a deployment hook keeps it (a file in the lab). */
function serverCert(ca: KeyPairPem, validityDays: number, now: Date) {
  const state = { pem: "", reissued: [] as number[] };
  const hook: EtcdServerCertificate = {
    where: "memory",
    read: async () => state.pem || undefined,
    reissue: async (caNow, days, when) => {
      state.reissued.push(days);
      state.pem = (await issueCertificate(caNow, { commonName: "etcd.cluster-1", usage: "both", validityDays: days, now: when })).certPem;
    },
  };
  return issueCertificate(ca, { commonName: "etcd.cluster-1", usage: "both", validityDays, now }).then((c) => ((state.pem = c.certPem), { state, hook }));
}

test("with tls.auto the remote certificate is renewed once a third of its life is left, not before, and each pass says when to look again", async (t) => {
  const { store } = await cluster({ tlsAutoMethod: "cronJob", certValidityDays: 30 });
  t.after(() => store.close());
  let now = at(10);
  const renewal = new CertRenewal({ store, cluster: "cluster-1", now: () => now });
  const first = await serial(store);

  const early = await renewal.check();
  assert.deepEqual(early.renewed, []);
  assert.equal(await serial(store), first);
  assert.equal(early.nextCheckAt.getTime(), now.getTime() + 3_600_000, "far from due: checked again within the hour");
  // 30 days plus the minute's head start; due when a third of that is left: the next pass is then.
  const dueAt = at(30).getTime() - (30 * DAY_MS + 60_000) / 3;
  now = new Date(dueAt - 600_000);
  assert.equal((await renewal.check()).nextCheckAt.getTime(), dueAt);

  now = at(21);
  const due = await renewal.check();
  assert.equal(due.renewed.length, 1);
  assert.match(due.renewed[0]!, /^remote: expires at 2026-03-31T00:00:00\.000Z, renewal due since/);
  assert.notEqual(await serial(store), first);
  const renewed = describeCertificate((await readRemoteCert(store))!.certPem);
  assert.equal(renewed.notAfter.getTime(), at(51).getTime(), "valid 30 days from the renewal");
  assert.equal(due.nextCheckAt.getTime(), now.getTime() + 3_600_000);
});

test("a replaced CA and a lowered certValidityDuration take effect at once; etcd's server certificate goes through the deployment's hook", async (t) => {
  const { store, ca } = await cluster({ tlsAutoMethod: "helm", certValidityDays: 30 });
  t.after(() => store.close());
  const now = at(1);
  const server = await serverCert(ca, 365, at(0));
  const renewal = new CertRenewal({ store, cluster: "cluster-1", serverCertificate: server.hook, now: () => now });

  const pass = await renewal.check();
  assert.deepEqual(pass.renewed.map((r) => r.split(":")[0]), ["etcd server"]);
  assert.match(pass.renewed[0]!, /longer than the configured validity of 30 days/);
  assert.deepEqual(server.state.reissued, [30]);

  const other = await createCertificateAuthority("new CA", 3650, at(-1));
  await writeClusterCa(store, other);
  const after = await renewal.check();
  assert.deepEqual(after.renewed.map((r) => r.split(":")[0]), ["remote", "etcd server"]);
  assert.equal(describeCertificate((await readRemoteCert(store))!.certPem).issuerCommonName, "new CA");
  assert.equal(describeCertificate(server.state.pem).issuerCommonName, "new CA");
});

test("without tls.auto nothing is renewed: a certificate close to expiry needs attention, and says what to do", async (t) => {
  const { store } = await cluster({}, { validityDays: 30 });
  t.after(() => store.close());
  let now = at(10);
  const renewal = new CertRenewal({ store, cluster: "cluster-1", now: () => now });
  const first = await serial(store);
  assert.deepEqual((await renewal.check()).attention, []);
  now = at(25);
  const pass = await renewal.check();
  assert.deepEqual(pass.renewed, []);
  assert.equal(await serial(store), first);
  assert.match(pass.attention.join("\n"), /^remote: expires at .*; certificates are not renewed automatically: set clustermesh\.apiserver\.tls\.auto\.method/);
});

test("a peer's certificate copied by connect (another CA) is flagged before it expires: only connecting again replaces it", async (t) => {
  const { store } = await cluster({ tlsAutoMethod: "cronJob" }, { validityDays: 1095 });
  t.after(() => store.close());
  const peerCa = await createCertificateAuthority("cluster-2 CA", 3650, at(-1));
  const copy = await issueCertificate(peerCa, { commonName: "remote", usage: "client", validityDays: 30, now: T0 });
  await addMeshPeer(store, { name: "cluster-2", endpoints: ["https://198.19.2.129:2379"], tls: { ca: peerCa.certPem, cert: copy.certPem, key: copy.keyPem } });
  let now = at(5);
  const renewal = new CertRenewal({ store, cluster: "cluster-1", now: () => now });
  const quiet = await renewal.check();
  assert.deepEqual(quiet.attention, []);
  assert.equal(quiet.nextCheckAt.getTime(), now.getTime() + 3_600_000, "checked again within the hour");
  now = at(29);
  const pass = await renewal.check();
  assert.deepEqual(pass.renewed, []);
  assert.match(pass.attention.join("\n"), /^cluster-2: expires at .*; it is a copy of cluster-2's remote certificate: run "trellis clustermesh connect" again, after cluster-2 renewed/);
});

test("the loop renews on its own, and a change of the mesh settings takes effect without waiting for the next check", async (t) => {
  // Real time: certificates live 4 s, so renewals come every ~3 s once tls.auto is on.
  const validityDays = 4000 / DAY_MS;
  const { store } = await cluster({ certValidityDays: validityDays }, { validityDays: 365, issuedAt: new Date() });
  const renewal = new CertRenewal({ store, cluster: "cluster-1", minIntervalMs: 200 });
  t.after(async () => {
    await renewal.stop();
    await store.close();
  });
  renewal.start();
  const first = await serial(store);
  await writeMeshSettings(store, { enabled: true, serviceType: "LoadBalancer", kvstoremesh: true, port: 2379, cacheTtlSeconds: 0, tlsAutoMethod: "cronJob", certValidityDays: validityDays });
  // The 365-day certificate outlives the new validity: replaced at once, not an hour later.
  await waitFor("renewed after tls.auto was set", async () => (await serial(store)) !== first, 3000);
  const second = await serial(store);
  await waitFor("renewed again as it ages", async () => (await serial(store)) !== second, 8000);
  const current = describeCertificate((await readRemoteCert(store))!.certPem);
  assert.ok(current.notAfter.getTime() > Date.now(), "the certificate in place is valid");
});

test("a pass a fraction of a millisecond before the due time looks again at once, not an hour later", async (t) => {
  // 10 s of validity and 1 s of head start: a third of 11 s is not a whole number of milliseconds.
  const { store } = await cluster({ tlsAutoMethod: "cronJob", certValidityDays: 10_000 / DAY_MS }, { validityDays: 10_000 / DAY_MS });
  t.after(() => store.close());
  const now = new Date(T0.getTime() + 10_000 - Math.round(11_000 / 3));
  const renewal = new CertRenewal({ store, cluster: "cluster-1", now: () => now });
  const pass = await renewal.check();
  assert.deepEqual(pass.renewed, []);
  assert.ok(pass.nextCheckAt.getTime() <= now.getTime() + 1000, `next check at ${pass.nextCheckAt.toISOString()}`);
});
