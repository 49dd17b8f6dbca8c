import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readClusterCa, writeClusterCa } from "../../install/cluster-ca.js";
import { MemoryStore } from "../../kvstore/memory-store.js";
import { createCertificateAuthority, type KeyPairPem } from "../../pki/certificates.js";
import { keys } from "../../resources/keys.js";
import { testClusterSettings } from "../../resources/testing/cluster-settings.js";
import { readMeshSecret } from "../mesh-secret.js";
import { connectClusters, connectProblems, type MeshSide } from "./connect.js";
import { writeMeshSettings } from "./mesh-settings.js";
import { ensureRemoteCert, readRemoteCert } from "./remote-cert.js";

const c = testClusterSettings;

test("two well-formed, distinct clusters can be connected", () => {
  assert.deepEqual(connectProblems(c({}), c({ name: "cluster-2", id: 2, podPool: "100.66.0.0/16" })), []);
});

test("every reason to refuse is named", () => {
  const p = connectProblems(c({}), c({ id: 1, maxConnectedClusters: 511, datapathMode: "native", podPool: "100.65.128.0/17" }));
  assert.equal(p.length, 5);
  assert.match(p[0]!, /both clusters are named "cluster-1"/);
  assert.match(p[1]!, /both clusters have cluster ID 1/);
  assert.match(p[2]!, /maxConnectedClusters differs: cluster-1 has 255, cluster-1 has 511/);
  assert.match(p[3]!, /datapath modes differ/);
  assert.match(p[4]!, /pod CIDRs overlap: cluster-1 uses 100\.65\.0\.0\/16, cluster-1 uses 100\.65\.128\.0\/17/);
  assert.match(connectProblems(c({}), c({ name: "x", id: 300, podPool: "100.66.0.0/16" })).join("\n"), /300/);
});

describe("connectClusters", () => {
  async function side(name: string, id: number, ca: KeyPairPem): Promise<MeshSide> {
    const store = new MemoryStore();
    await store.put(keys.clusterSettings(), JSON.stringify(c({ name, id, podPool: `100.${64 + id}.0.0/16` })));
    await writeClusterCa(store, ca);
    await writeMeshSettings(store, { enabled: true, serviceType: "ClusterIP", kvstoremesh: true, port: 2379, cacheTtlSeconds: 0 });
    await ensureRemoteCert(store, ca, { validityDays: 30 });
    return { context: name, store, controlPlaneIp: `198.18.${id}.2` };
  }

  test("clusters sharing a CA log in to each other with their own remote certificates, so renewals need no copying", async () => {
    const ca = await createCertificateAuthority("shared CA");
    const [a, b] = [await side("cluster-1", 1, ca), await side("cluster-2", 2, ca)];
    const r = await connectClusters(a, b);
    assert.equal(r.sharedCa, true);
    const secretA = (await readMeshSecret(a.store))!;
    assert.deepEqual(Object.keys(secretA), ["cluster-2"], "no certificate copied");
    assert.match(secretA["cluster-2"]!.toString(), /cert-file: \/var\/lib\/cilium\/clustermesh\/common-etcd-client\.crt/);
    assert.match(secretA["cluster-2"]!.toString(), /- https:\/\/198\.18\.2\.2:2379/);
    assert.deepEqual(Object.keys((await readMeshSecret(b.store))!), ["cluster-1"]);
  });

  test("clusters with different CAs get each other's CA and a copy of each other's remote certificate", async () => {
    const [a, b] = [await side("cluster-1", 1, await createCertificateAuthority("CA 1")), await side("cluster-2", 2, await createCertificateAuthority("CA 2"))];
    const r = await connectClusters(a, b);
    assert.equal(r.sharedCa, false);
    const secretA = (await readMeshSecret(a.store))!;
    assert.equal(secretA["cluster-2.etcd-client.crt"]!.toString(), (await readRemoteCert(b.store))!.certPem);
    assert.equal(secretA["cluster-2.etcd-client-ca.crt"]!.toString(), (await readClusterCa(b.store))!.certPem);
  });
});
