import { validateClusterInfo } from "../../cluster/index.js";
import type { KvStore } from "../../kvstore/kvstore.js";
import { readClusterCa } from "../../install/cluster-ca.js";
import { parseClusterSettings, type ClusterSettings } from "../../resources/cluster-settings.js";
import { keys } from "../../resources/keys.js";
import { cidrsOverlap, parseCidr } from "../../util/ipv4.js";
import { isIssuedBy } from "../../pki/certificates.js";
import { addMeshPeer, isOwnCertPeer, removeMeshPeer, type MeshPeer } from "../mesh-secret.js";
import { MeshSetupError, meshEndpoints } from "./enable.js";
import { readMeshSettings } from "./mesh-settings.js";
import { readRemoteCert } from "./remote-cert.js";

/** One side of a connection: its store and the control plane address (etcd's own). */
export interface MeshSide {
  readonly context: string;
  readonly store: KvStore;
  readonly controlPlaneIp: string;
}

async function settingsOf(side: MeshSide): Promise<ClusterSettings> {
  const kv = await side.store.get(keys.clusterSettings());
  if (!kv) throw new MeshSetupError(`context "${side.context}" is not installed`);
  return parseClusterSettings(kv.value.toString());
}

/**
 * Why two clusters cannot be meshed, one line per problem (empty when they can). Checked before
 * any change, so a refused connect changes nothing.
 */
export function connectProblems(a: ClusterSettings, b: ClusterSettings): string[] {
  const out: string[] = [];
  for (const s of [a, b]) {
    try {
      validateClusterInfo({ name: s.name, id: s.id, maxConnectedClusters: s.maxConnectedClusters });
    } catch (e) {
      out.push((e as Error).message);
    }
  }
  if (a.name === b.name) out.push(`both clusters are named "${a.name}": cluster names must be unique in a mesh (set one with "trellis install --set cluster.name=...")`);
  if (a.id === b.id) out.push(`both clusters have cluster ID ${a.id} (${a.name} and ${b.name}): cluster IDs must be unique in a mesh`);
  if (a.maxConnectedClusters !== b.maxConnectedClusters) {
    out.push(`maxConnectedClusters differs: ${a.name} has ${a.maxConnectedClusters}, ${b.name} has ${b.maxConnectedClusters}; every cluster of a mesh needs the same value`);
  }
  if (a.datapathMode !== b.datapathMode) out.push(`datapath modes differ: ${a.name} uses ${a.datapathMode}, ${b.name} uses ${b.datapathMode}; all clusters need the same mode`);
  if (cidrsOverlap(parseCidr(a.podPool), parseCidr(b.podPool))) out.push(`pod CIDRs overlap: ${a.name} uses ${a.podPool}, ${b.name} uses ${b.podPool}; pod addresses must be unique across the mesh`);
  return out;
}

/**
 * How `from` reaches `to`. When both share one CA, `from` logs in with its own `remote`
 * certificate, so that its renewal reaches every connection with no further step. Otherwise `from`
 * gets `to`'s CA and a copy of `to`'s `remote` certificate: when `to` renews it, the copy stays
 * behind until the clusters are connected again (docs/clustermesh.md).
 */
async function peerEntryFor(from: MeshSide, to: MeshSide, toSettings: ClusterSettings): Promise<MeshPeer> {
  const mesh = await readMeshSettings(to.store);
  if (!mesh?.enabled) throw new MeshSetupError(`cluster mesh is not enabled in context "${to.context}": run "trellis clustermesh enable --context ${to.context}" first`);
  const endpoints = await meshEndpoints(to.store, mesh, to.controlPlaneIp);
  if (!endpoints) throw new MeshSetupError(`the mesh address of "${to.context}" is not assigned yet: wait with "trellis clustermesh status --context ${to.context} --wait"`);
  const ca = await readClusterCa(to.store);
  const remote = await readRemoteCert(to.store);
  if (!ca || !remote) throw new MeshSetupError(`context "${to.context}" lacks its CA or remote certificate: run "trellis clustermesh enable --context ${to.context}" again`);
  const fromCa = await readClusterCa(from.store);
  const own = await readRemoteCert(from.store);
  if (fromCa?.certPem.trim() === ca.certPem.trim() && own && isIssuedBy(own.certPem, ca.certPem)) return { name: toSettings.name, endpoints, ownCert: true };
  return { name: toSettings.name, endpoints, tls: { ca: ca.certPem, cert: remote.certPem, key: remote.keyPem } };
}

/** `clustermesh connect`: both directions at once, after every check passed. `sharedCa`: each side uses its own certificate. */
export async function connectClusters(a: MeshSide, b: MeshSide): Promise<{ a: ClusterSettings; b: ClusterSettings; sharedCa: boolean }> {
  const [sa, sb] = [await settingsOf(a), await settingsOf(b)];
  const problems = connectProblems(sa, sb);
  if (problems.length) throw new MeshSetupError(`cannot connect ${sa.name} and ${sb.name}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  const toB = await peerEntryFor(a, b, sb);
  const toA = await peerEntryFor(b, a, sa);
  await addMeshPeer(a.store, toB);
  await addMeshPeer(b.store, toA);
  return { a: sa, b: sb, sharedCa: isOwnCertPeer(toB) && isOwnCertPeer(toA) };
}

/** `clustermesh disconnect`: both directions; the peers withdraw each other's state. */
export async function disconnectClusters(a: MeshSide, b: MeshSide): Promise<{ removed: number }> {
  const [sa, sb] = [await settingsOf(a), await settingsOf(b)];
  let removed = 0;
  if (await removeMeshPeer(a.store, sb.name)) removed++;
  if (await removeMeshPeer(b.store, sa.name)) removed++;
  return { removed };
}
