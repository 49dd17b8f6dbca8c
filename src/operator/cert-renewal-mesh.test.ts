import { test } from "node:test";
import assert from "node:assert/strict";
import { validateClusterInfo } from "../cluster/index.js";
import { enableMeshAccess } from "../clustermesh/access/index.js";
import { KvStoreMesh } from "../clustermesh/kvstoremesh/kvstoremesh.js";
import { addMeshPeer } from "../clustermesh/mesh-secret.js";
import { writeMeshSettings } from "../clustermesh/setup/mesh-settings.js";
import { ensureRemoteCert, readRemoteCert } from "../clustermesh/setup/remote-cert.js";
import { nodeEntry, publishCluster } from "../clustermesh/testing/remote-state.js";
import { writeClusterCa } from "../install/cluster-ca.js";
import { EtcdStore } from "../kvstore/index.js";
import { EtcdProcess, waitFor } from "../kvstore/testing/index.js";
import { createCertificateAuthority, DAY_MS, describeCertificate, issueCertificate } from "../pki/certificates.js";
import { cachedNodeKey } from "../state/index.js";
import { CertRenewal } from "./cert-renewal.js";

/**
 * Two clusters sharing a CA, with real etcd: cluster-2's etcd as Trellis runs it (TLS, client
 * certificates, the mesh's users and roles), and cluster-1's KVStoreMesh reaching it with
 * cluster-1's own `remote` certificate, which cluster-1's operator renews every few seconds
 * (tls.auto with a validity of 6 s). The same KVStoreMesh keeps the cache complete across every
 * renewal, and still reconnects once the first certificate has long expired.
 */
const VALIDITY_MS = 6000;
const local = validateClusterInfo({ name: "cluster-1", id: 1 });
const c2 = { name: "cluster-2", id: 2 };

test("KVStoreMesh moves to each renewed client certificate without a restart, and an expired one does not break it", async (t) => {
  const ca = await createCertificateAuthority("shared CA");
  const server = await issueCertificate(ca, { commonName: "etcd.cluster-2", usage: "server", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
  const root = await issueCertificate(ca, { commonName: "root", usage: "client" });
  const [remoteEtcd, localEtcd] = await Promise.all([
    EtcdProcess.start({ tls: { ca: ca.certPem, serverCert: server.certPem, serverKey: server.keyPem, clientCert: root.certPem, clientKey: root.keyPem } }),
    EtcdProcess.start(),
  ]);
  t.after(() => Promise.all([remoteEtcd.cleanup(), localEtcd.cleanup()]));
  const remoteRoot = new EtcdStore(remoteEtcd.config());
  const localStore = new EtcdStore(localEtcd.config());
  t.after(() => Promise.all([remoteRoot.close(), localStore.close()]));

  // cluster-2: enabled (the `remote` user may read its state, nothing else) and running.
  await enableMeshAccess(remoteRoot, "cluster-2");
  await publishCluster(remoteRoot, c2);

  // cluster-1: the shared CA, tls.auto, its own remote certificate, and cluster-2 as a peer reached with it.
  const validityDays = VALIDITY_MS / DAY_MS;
  await writeClusterCa(localStore, ca);
  await writeMeshSettings(localStore, { enabled: true, serviceType: "LoadBalancer", kvstoremesh: true, port: 2379, cacheTtlSeconds: 0, tlsAutoMethod: "cronJob", certValidityDays: validityDays });
  await ensureRemoteCert(localStore, ca, { validityDays });
  const first = describeCertificate((await readRemoteCert(localStore))!.certPem);
  await addMeshPeer(localStore, { name: "cluster-2", endpoints: [remoteEtcd.endpoint], ownCert: true });

  const kvstoremesh = new KvStoreMesh({ local, store: localStore, backoff: { initialMs: 50, maxMs: 500 } });
  t.after(() => kvstoremesh.stop());
  kvstoremesh.start();
  await waitFor("cluster-2 cached", () => kvstoremesh.status().ready === 1, 15_000);
  const cachedNode = cachedNodeKey("cluster-2", "node-1");
  assert.ok(await localStore.get(cachedNode));

  // The operator's renewal, on the real clock.
  const renewal = new CertRenewal({ store: localStore, cluster: "cluster-1", minIntervalMs: 200 });
  t.after(() => renewal.stop());
  renewal.start();

  // While certificates are renewed, the cache never loses cluster-2's state.
  let cacheLost = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      if (!(await localStore.get(cachedNode).catch(() => undefined))) cacheLost++;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const stopSampling = () => {
    sampling = false;
    return sampler;
  };
  t.after(stopSampling);

  const serial = async () => describeCertificate((await readRemoteCert(localStore))!.certPem).serialNumber;
  await waitFor("first renewal", async () => (await serial()) !== first.serialNumber, 20_000).catch((e: Error) => {
    throw new Error(`${e.message} (renewal passes: ${renewal.passes}, last error: ${renewal.lastError ?? "none"})`);
  });
  await waitFor("KVStoreMesh reconnected with the renewed certificate", () => kvstoremesh.status().clusters[0]!.reconnections >= 1, 15_000);
  await waitFor("ready again", () => kvstoremesh.status().ready === 1, 15_000);

  // Well after the first certificate expired: new state still arrives...
  await waitFor("the first certificate expired", () => Date.now() > first.notAfter.getTime() + 1000, VALIDITY_MS + 5000);
  const node2 = nodeEntry(c2, 2);
  await remoteRoot.put(node2.key, node2.value);
  await waitFor("node-2 cached", async () => (await localStore.get(cachedNodeKey("cluster-2", "node-2"))) !== undefined, 15_000);

  // ...and when every connection to cluster-2 must be made anew, etcd accepts the certificate in use.
  await remoteEtcd.restart();
  const node3 = nodeEntry(c2, 3);
  await remoteRoot.put(node3.key, node3.value);
  await waitFor("node-3 cached after cluster-2's etcd restarted", async () => (await localStore.get(cachedNodeKey("cluster-2", "node-3"))) !== undefined, 15_000);
  await waitFor("ready", () => kvstoremesh.status().ready === 1, 10_000);
  await stopSampling();
  assert.equal(cacheLost, 0, "the cache kept cluster-2's state throughout");
  const s = kvstoremesh.status().clusters[0]!;
  assert.equal(s.notUsedReason, undefined);
  assert.ok(describeCertificate((await readRemoteCert(localStore))!.certPem).notAfter.getTime() > Date.now(), "the certificate in the secret is current");
});
