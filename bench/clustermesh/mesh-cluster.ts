/**
 * One cluster of the benchmark's mesh, as `clustermesh enable` leaves it: a real etcd with TLS and
 * client-certificate auth, the cluster's CA, etcd users `admin-<cluster>`, `local-<cluster>` and
 * `remote` with their roles and auth on, and the cluster's config and sync canaries published.
 * Certificates are ECDSA P-256 from src/pki: issuing the five a cluster needs takes tens of ms.
 */
import { validateClusterInfo, type ClusterInfo } from "../../src/cluster/index.js";
import { enableMeshAccess } from "../../src/clustermesh/access/index.js";
import type { PeerConfig } from "../../src/clustermesh/peer-config.js";
import { publishCanaries, publishClusterConfig } from "../../src/clustermesh/testing/index.js";
import { EtcdStore, type EtcdConfig } from "../../src/kvstore/index.js";
import { EtcdProcess } from "../../src/kvstore/testing/index.js";
import { createCertificateAuthority, issueCertificate, type KeyPairPem } from "../../src/pki/certificates.js";

export interface MeshCluster {
  readonly info: ClusterInfo;
  readonly etcd: EtcdProcess;
  /** etcd's client port on 127.0.0.1. */
  readonly clientPort: number;
  /** The cluster's own daemons (agents publishing state, KVStoreMesh writing its cache): `admin-<cluster>`. */
  readonly admin: EtcdConfig;
  /** Agents reading KVStoreMesh's cache: `local-<cluster>`, read-only on cilium/cache/. */
  readonly local: EtcdConfig;
  /** What other clusters' mesh secret says about this one: its endpoint and the `remote` user. */
  readonly peer: PeerConfig;
  cleanup(): Promise<void>;
}

function clientConfig(etcd: EtcdProcess, ca: KeyPairPem, user: KeyPairPem): EtcdConfig {
  return { endpoints: [etcd.endpoint], tls: { ca: ca.certPem, cert: user.certPem, key: user.keyPem } };
}

export async function startMeshCluster(name: string, id: number): Promise<MeshCluster> {
  const info = validateClusterInfo({ name, id });
  const ca = await createCertificateAuthority(`${name} CA`);
  const issue = (commonName: string, usage: "client" | "server") =>
    issueCertificate(ca, { commonName, usage, ...(usage === "server" ? { dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] } : {}) });
  const [server, root, admin, local, remote] = await Promise.all([
    issue("clustermesh-apiserver", "server"),
    issue("root", "client"),
    issue(`admin-${name}`, "client"),
    issue(`local-${name}`, "client"),
    issue("remote", "client"),
  ]);
  const etcd = await EtcdProcess.start({
    name,
    tls: { ca: ca.certPem, serverCert: server.certPem, serverKey: server.keyPem, clientCert: root.certPem, clientKey: root.keyPem },
  });
  try {
    const rootStore = new EtcdStore(etcd.config());
    try {
      await publishClusterConfig(rootStore, info);
      await publishCanaries(rootStore, info);
      await enableMeshAccess(rootStore, name);
    } finally {
      await rootStore.close();
    }
  } catch (e) {
    await etcd.cleanup();
    throw new Error(`cluster ${name}: setting up its etcd failed: ${(e as Error).message}`, { cause: e });
  }
  const remoteConfig = clientConfig(etcd, ca, remote);
  return {
    info,
    etcd,
    clientPort: etcd.clientPort,
    admin: clientConfig(etcd, ca, admin),
    local: clientConfig(etcd, ca, local),
    peer: { name, endpoints: [...remoteConfig.endpoints], tls: { ca: ca.certPem, cert: remote.certPem, key: remote.keyPem } },
    cleanup: () => etcd.cleanup(),
  };
}

/** Starts clusters `cluster-1` … `cluster-<count>` (IDs 1 … count) side by side; all or none. */
export async function startMeshClusters(count: number): Promise<MeshCluster[]> {
  if (!Number.isInteger(count) || count < 1 || count > 9) throw new Error(`cluster count must be an integer from 1 to 9, got ${count}`);
  const started = await Promise.allSettled(Array.from({ length: count }, (_, i) => startMeshCluster(`cluster-${i + 1}`, i + 1)));
  const clusters = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) {
    await stopMeshClusters(clusters);
    throw failed.reason;
  }
  return clusters;
}

export async function stopMeshClusters(clusters: readonly MeshCluster[]): Promise<void> {
  await Promise.all(clusters.map((c) => c.cleanup()));
}
