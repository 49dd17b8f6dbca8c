import type { ClusterInfo } from "../cluster/index.js";
import { ClusterMesh, type MeshKindHandlers } from "../clustermesh/cluster-mesh.js";
import { connectPeerEtcd } from "../clustermesh/peer-config.js";
import type { ClusterMeshStatus } from "../clustermesh/status.js";
import { readMeshSettings, type MeshSettings } from "../clustermesh/setup/mesh-settings.js";
import type { KvStore } from "../kvstore/kvstore.js";
import { ListWatcher } from "../kvstore/list-watch.js";
import type { Logger } from "../log/logger.js";
import { keys } from "../resources/keys.js";
import type { ClusterServiceRecord, IdentityRecord, IpcacheEntry } from "../state/index.js";
import type { NodeCache } from "./node-cache.js";

export interface AgentMeshOptions {
  readonly local: ClusterInfo;
  /** The cluster's own etcd (mesh secret and settings). */
  readonly store: KvStore;
  /** Where KVStoreMesh's cache is read from (the local etcd, as local-<cluster> when available). */
  readonly cacheStore: KvStore;
  readonly nodes: NodeCache;
  /** Remote clusters' ClusterService records go to the service merger. */
  readonly services?: MeshKindHandlers<ClusterServiceRecord>;
  /** Something the datapath depends on changed (remote nodes). */
  readonly onChange: () => void;
  /** Remote records policy depends on changed: nodes and endpoints (the ipcache), identities. */
  readonly onPolicyInput?: (kind: "nodes" | "endpoints" | "identities") => void;
  readonly logger: Logger;
}

/**
 * The agent's view of the remote clusters: follows the mesh secret and settings, reads each peer's
 * state from KVStoreMesh's cache (default) or from the peer directly (KVStoreMesh disabled), and
 * feeds remote nodes into the node cache and remote endpoints/identities into its own maps. A
 * change of mode (enable with or without KVStoreMesh) restarts the mesh in the new mode.
 */
export class AgentMesh {
  readonly remoteEndpoints = new Map<string, IpcacheEntry & { cluster: string }>();
  readonly remoteIdentities = new Map<number, IdentityRecord & { cluster: string }>();
  private mesh: ClusterMesh | undefined;
  private mode: "cache" | "direct" | undefined;
  private settingsWatcher: ListWatcher | undefined;
  private switching: Promise<void> = Promise.resolve();
  private lastStatus: ClusterMeshStatus | undefined;
  private statusListeners: (() => void)[] = [];

  constructor(private readonly o: AgentMeshOptions) {}

  start(): void {
    this.settingsWatcher = new ListWatcher(this.o.store, keys.clustermesh(), () => {
      this.switching = this.switching.then(() => this.follow()).catch((e: Error) => this.o.logger.error({ err: e.message }, "cluster mesh reconfiguration failed"));
    });
  }

  onStatus(listener: () => void): void {
    this.statusListeners.push(listener);
  }

  status(): ClusterMeshStatus | undefined {
    return this.mesh ? this.mesh.status() : this.lastStatus;
  }

  get currentMode(): "cache" | "direct" | undefined {
    return this.mode;
  }

  /**
   * True once the mesh configuration is read and every remote cluster in it is ready (its state
   * listed) or not used; false if that takes longer than `timeoutMs`.
   */
  async waitRemotesSynced(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const left = () => Math.max(0, deadline - Date.now());
    const within = <T>(p: Promise<T>) => Promise.race([p.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), left()).unref())]);
    if (!this.settingsWatcher || !(await within(this.settingsWatcher.waitSynced()))) return false;
    if (!(await within(this.switching))) return false;
    if (this.mesh && !(await within(this.mesh.waitConfigured()))) return false;
    for (;;) {
      const s = this.mesh?.status();
      if (!s || s.clusters.every((c) => c.ready || c.notUsedReason !== undefined)) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private async follow(): Promise<void> {
    const s: MeshSettings | undefined = await readMeshSettings(this.o.store);
    // Without mesh settings (never enabled) the agent still honours a mesh secret, reading peers
    // directly: seed 004's form, where only the secret is configured.
    const mode: "cache" | "direct" = s?.enabled && s.kvstoremesh ? "cache" : "direct";
    if (this.mesh && mode === this.mode) return;
    if (this.mesh) {
      this.o.logger.info({ from: this.mode, to: mode }, "cluster mesh mode changes; reconnecting to every remote cluster");
      await this.mesh.stop({ emitDeletions: true });
    }
    this.mode = mode;
    this.mesh = new ClusterMesh({
      local: this.o.local,
      mode,
      connect: mode === "cache" ? () => this.o.cacheStore : (peer) => connectPeerEtcd(peer),
      closeStores: mode !== "cache",
      configStore: this.o.store,
      cacheTtlSeconds: s?.cacheTtlSeconds || undefined,
      logger: this.o.logger.child({ subsys: "clustermesh" }),
      onStatusChange: () => {
        for (const l of this.statusListeners) l();
      },
      handlers: {
        nodes: {
          upsert: (cluster, record) => {
            this.o.nodes.upsert(cluster, record);
            this.o.onChange();
            this.o.onPolicyInput?.("nodes");
          },
          delete: (cluster, record) => {
            this.o.nodes.delete(cluster, record.cluster, record.name);
            this.o.onChange();
            this.o.onPolicyInput?.("nodes");
          },
        },
        endpoints: {
          upsert: (cluster, record) => {
            this.remoteEndpoints.set(record.ip, { ...record, cluster });
            this.o.onPolicyInput?.("endpoints");
          },
          delete: (_cluster, record) => {
            this.remoteEndpoints.delete(record.ip);
            this.o.onPolicyInput?.("endpoints");
          },
        },
        services: {
          upsert: (cluster, record, key) => {
            try {
              this.o.services?.upsert?.(cluster, record, key);
            } catch (e) {
              this.o.logger.warn({ cluster, err: (e as Error).message }, "remote service refused");
            }
            this.o.onChange();
          },
          delete: (cluster, record, key) => {
            this.o.services?.delete?.(cluster, record, key);
            this.o.onChange();
          },
        },
        identities: {
          upsert: (cluster, record) => {
            this.remoteIdentities.set(record.id, { ...record, cluster });
            this.o.onPolicyInput?.("identities");
          },
          delete: (_cluster, record) => {
            this.remoteIdentities.delete(record.id);
            this.o.onPolicyInput?.("identities");
          },
        },
      },
    });
    this.mesh.start();
  }

  async stop(): Promise<void> {
    await this.settingsWatcher?.stop();
    await this.switching;
    this.lastStatus = this.mesh?.status();
    await this.mesh?.stop();
  }
}
