/**
 * The clustermesh module's public face: the agent's view of remote clusters (RemoteCluster, one
 * per peer; ClusterMesh, all of them), KVStoreMesh (Reflector, one per peer; KvStoreMesh, the
 * daemon core), and the mesh configuration (the cilium-clustermesh secret and its watcher).
 */
export { type BackoffOptions } from "./backoff.js";
export { ClusterMesh, type ClusterMeshHandlers, type ClusterMeshOptions, type MeshKindHandlers } from "./cluster-mesh.js";
export { ConfigWatcher, type ConfigWatcherOptions, type MeshConfig } from "./config-watcher.js";
export { MESH_KINDS, type MeshKind, type MeshRecords, type PerKind } from "./kinds.js";
export {
  MESH_CONFIG_DIR,
  MESH_SECRET_KEY,
  MESH_SECRET_NAME,
  MESH_SECRET_NAMESPACE,
  MeshSecretError,
  SECRETS_PREFIX,
  addMeshPeer,
  decodeSecret,
  encodeSecret,
  meshSecretEntries,
  parseMeshSecret,
  readMeshSecret,
  removeMeshPeer,
  secretKey,
  updateMeshSecret,
  writeMeshSecret,
  type MeshSecretParse,
  type SecretData,
  type SecretDocument,
} from "./mesh-secret.js";
export { connectPeerEtcd, peerConfigProblem, peerEtcdConfig, samePeerConfig, type PeerConfig } from "./peer-config.js";
export type { ConfigCheck } from "./peer-connection.js";
export { remoteConfigProblem } from "./remote-config.js";
export { RemoteCluster, type KindHandlers, type RemoteClusterOptions, type RemoteStateHandlers } from "./remote-cluster.js";
export {
  meshSummary,
  type ClusterMeshStatus,
  type KvStoreMeshStatus,
  type MeshStatus,
  type PeerProblem,
  type ReflectorStatus,
  type RejectionCounts,
  type RemoteClusterStatus,
} from "./status.js";
export { KvStoreMesh, type KvStoreMeshOptions } from "./kvstoremesh/kvstoremesh.js";
export { Reflector, type ReflectorOptions } from "./kvstoremesh/reflector.js";
