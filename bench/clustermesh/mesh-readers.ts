/**
 * The two ways a node of a cluster reads the other clusters, built from the library as the
 * daemons build them: an agent's ClusterMesh straight to each peer's etcd (KVStoreMesh off), or
 * the cluster's KVStoreMesh copying every peer into the local etcd plus an agent's ClusterMesh in
 * cache mode reading only the local etcd (KVStoreMesh on, the default). Each reader opens its own
 * etcd clients, as separate processes on separate nodes would.
 */
import { ClusterMesh, KvStoreMesh, type ClusterMeshHandlers } from "../../src/clustermesh/index.js";
import { connectPeerEtcd } from "../../src/clustermesh/peer-config.js";
import { EtcdStore } from "../../src/kvstore/index.js";
import { waitFor } from "../../src/kvstore/testing/index.js";
import { subsystemLogger, type Logger } from "../../src/log/logger.js";
import type { MeshCluster } from "./mesh-cluster.js";

export type MeshPath = "direct" | "kvstoremesh";

export const PATH_LABEL: Readonly<Record<MeshPath, string>> = { direct: "without KVStoreMesh (direct)", kvstoremesh: "with KVStoreMesh (cache)" };

/** Reconnect quickly: a benchmark should not sit out a backoff meant for production. */
const BACKOFF = { initialMs: 100, maxMs: 1_000 };
const READY_TIMEOUT_MS = 30_000;

export const quietLogger: Logger = (() => {
  const log = subsystemLogger("clustermesh-bench");
  log.level = "silent";
  return log;
})();

export interface MeshReader {
  readonly mesh: ClusterMesh;
  /** Resolves once every peer is connected and all four kinds are synced. */
  ready(): Promise<void>;
  stop(): Promise<void>;
}

function reader(mesh: ClusterMesh, who: string, peers: number, close: () => Promise<void>): MeshReader {
  return {
    mesh,
    ready: () => waitFor(`${who}: ${peers} remote cluster(s) ready (status: ${JSON.stringify(mesh.status().clusters.map((c) => [c.name, c.ready, c.lastError ?? c.notUsedReason ?? ""]))})`, () => mesh.status().ready === peers, READY_TIMEOUT_MS, 20),
    stop: async () => {
      await mesh.stop();
      await close();
    },
  };
}

/** An agent of `local` reading `peers` from their own etcds, as user `remote`. */
export async function directReader(local: MeshCluster, peers: readonly MeshCluster[], handlers: ClusterMeshHandlers = {}): Promise<MeshReader> {
  const mesh = new ClusterMesh({ local: local.info, mode: "direct", connect: (peer) => connectPeerEtcd(peer), handlers, backoff: BACKOFF, logger: quietLogger });
  await mesh.setPeers(peers.map((p) => p.peer));
  return reader(mesh, `direct reader in ${local.info.name}`, peers.length, async () => undefined);
}

/** An agent of `local` reading KVStoreMesh's cache in the local etcd through one client, as `local-<cluster>`. */
export async function cacheReader(local: MeshCluster, peers: readonly MeshCluster[], handlers: ClusterMeshHandlers = {}): Promise<MeshReader> {
  const cache = new EtcdStore(local.local);
  const mesh = new ClusterMesh({ local: local.info, mode: "cache", connect: () => cache, closeStores: false, handlers, backoff: BACKOFF, logger: quietLogger });
  await mesh.setPeers(peers.map((p) => p.peer));
  return reader(mesh, `cache reader in ${local.info.name}`, peers.length, () => cache.close());
}

export interface RunningKvStoreMesh {
  readonly kvstoremesh: KvStoreMesh;
  ready(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `local`'s KVStoreMesh: one client of the local etcd as `admin-<cluster>`, which it writes the
 * cache through, and one client per peer as `remote`. Peers come from setPeers rather than the
 * mesh secret, which only adds a watch on a key that never changes here.
 */
export async function startKvStoreMesh(local: MeshCluster, peers: readonly MeshCluster[], localStore = new EtcdStore(local.admin)): Promise<RunningKvStoreMesh> {
  const kvstoremesh = new KvStoreMesh({ local: local.info, store: localStore, backoff: BACKOFF, logger: quietLogger });
  await kvstoremesh.setPeers(peers.map((p) => p.peer));
  const who = `KVStoreMesh of ${local.info.name}`;
  return {
    kvstoremesh,
    ready: () => waitFor(`${who}: ${peers.length} remote cluster(s) cached (status: ${JSON.stringify(kvstoremesh.status().clusters.map((c) => [c.name, c.ready, c.lastError ?? ""]))})`, () => kvstoremesh.status().ready === peers.length, READY_TIMEOUT_MS, 20),
    stop: async () => {
      await kvstoremesh.stop();
      await localStore.close();
    },
  };
}

/**
 * What one agent of `local` sees of `peers` along `path`: for "kvstoremesh" the cluster's
 * KVStoreMesh is started too (and stopped with the reader). Resolves once ready.
 */
export async function openPath(path: MeshPath, local: MeshCluster, peers: readonly MeshCluster[], handlers: ClusterMeshHandlers): Promise<MeshReader> {
  if (path === "direct") {
    const r = await directReader(local, peers, handlers);
    await r.ready().catch(async (e: unknown) => {
      await r.stop();
      throw e;
    });
    return r;
  }
  const kvm = await startKvStoreMesh(local, peers);
  let r: MeshReader | undefined;
  try {
    await kvm.ready();
    r = await cacheReader(local, peers, handlers);
    await r.ready();
  } catch (e) {
    await r?.stop();
    await kvm.stop();
    throw e;
  }
  const agent = r;
  return {
    mesh: agent.mesh,
    ready: () => agent.ready(),
    stop: async () => {
      await agent.stop();
      await kvm.stop();
    },
  };
}
