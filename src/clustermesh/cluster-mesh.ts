import type { ClusterInfo } from "../cluster/index.js";
import type { KvStore } from "../kvstore/index.js";
import { subsystemLogger, type Logger } from "../log/logger.js";
import type { BackoffOptions } from "./backoff.js";
import { ConfigWatcher, type MeshConfig } from "./config-watcher.js";
import { MESH_KINDS, type MeshKind, type MeshRecords } from "./kinds.js";
import type { PeerConfig } from "./peer-config.js";
import { PeerWorkers } from "./peer-workers.js";
import { RemoteCluster, type KindHandlers, type RemoteStateHandlers } from "./remote-cluster.js";
import { meshSummary, type ClusterMeshStatus, type PeerProblem, type RemoteClusterStatus } from "./status.js";

export interface MeshKindHandlers<T> {
  upsert?(cluster: string, record: T, key: string): void;
  delete?(cluster: string, record: T, key: string): void;
}

/** Every remote cluster's records, fanned in, each with the name of the cluster it came from. */
export type ClusterMeshHandlers = { readonly [K in MeshKind]?: MeshKindHandlers<MeshRecords[K]> };

export interface ClusterMeshOptions {
  readonly local: ClusterInfo;
  /**
   * Opens the store to read `peer`'s state from, for each connection attempt: `connectPeerEtcd`
   * for direct mode, or a client of the local etcd for KVStoreMesh's cache.
   */
  readonly connect: (peer: PeerConfig) => KvStore | Promise<KvStore>;
  readonly handlers?: ClusterMeshHandlers;
  /** Close each store from `connect` when its connection ends (default true); false when it returns one shared store. */
  readonly closeStores?: boolean;
  /**
   * What a remote cluster's status mode says until its config has been read. In "cache" mode the
   * peers' entries are not used to connect (the cache is local), so changing one restarts nothing.
   */
  readonly mode?: "direct" | "cache";
  readonly backoff?: BackoffOptions;
  readonly cacheTtlSeconds?: number;
  /** Follow the mesh secret in this (local) store; without it, feed peers with setPeers(). */
  readonly configStore?: KvStore;
  /** The secret's key (default trellis/secrets/kube-system/cilium-clustermesh). */
  readonly secretKey?: string;
  readonly onStatusChange?: (status: ClusterMeshStatus) => void;
  readonly logger?: Logger;
}

/**
 * The agent's side of the mesh: one RemoteCluster per configured peer, started and stopped as the
 * configuration changes, with cluster-ID clashes refused and the records of all of them fanned in
 * to one set of handlers.
 */
export class ClusterMesh {
  private readonly log: Logger;
  private readonly peers: PeerWorkers<RemoteCluster>;
  private configWatcher: ConfigWatcher | undefined;
  private documentProblem: string | undefined;
  private updates: Promise<void> = Promise.resolve();

  constructor(private readonly options: ClusterMeshOptions) {
    this.log = options.logger ?? subsystemLogger("clustermesh", { component: "cluster-mesh" });
    this.peers = new PeerWorkers<RemoteCluster>({
      local: options.local,
      logger: this.log,
      restartOnChange: options.mode !== "cache",
      create: (peer, checkConfig) =>
        new RemoteCluster({
          name: peer.name,
          local: options.local,
          connect: () => options.connect(this.peers.configOf(peer.name) ?? peer),
          handlers: this.handlersFor(peer.name),
          closeStore: options.closeStores,
          backoff: options.backoff,
          cacheTtlSeconds: options.cacheTtlSeconds,
          mode: options.mode,
          checkConfig,
          onStatusChange: () => this.notify(),
          logger: this.log.child({ cluster: peer.name }),
        }),
      remove: async (_name, remote) => {
        await remote.stop({ emitDeletions: true });
        this.notify();
      },
    });
  }

  /** Starts following the mesh secret, when a configStore was given. */
  start(): void {
    if (this.configWatcher || !this.options.configStore) return;
    this.configWatcher = new ConfigWatcher(this.options.configStore, {
      localCluster: this.options.local.name,
      key: this.options.secretKey,
      logger: this.log,
      onChange: (config) => void this.applyConfig(config),
    });
  }

  /** Resolves once the mesh secret has been read and its peers started (at once without a configStore). */
  async waitConfigured(): Promise<void> {
    await this.configWatcher?.waitSynced();
    await this.updates;
  }

  /** Makes the connected remote clusters match `peers`; resolves once removed ones are disconnected. */
  setPeers(peers: readonly PeerConfig[], context: { problems?: readonly PeerProblem[]; ignored?: readonly string[] } = {}): Promise<void> {
    // One update at a time, in order: a later configuration must not be overtaken by an earlier one.
    const run = this.updates.then(() => this.peers.update(peers, context)).then(() => this.notify());
    this.updates = run.catch((e: unknown) => this.log.error({ err: (e as Error).message }, "applying the mesh configuration failed"));
    return run;
  }

  cluster(name: string): RemoteCluster | undefined {
    return this.peers.get(name);
  }

  status(): ClusterMeshStatus {
    const clusters: RemoteClusterStatus[] = this.peers.all().map((r) => r.status());
    const ready = clusters.filter((c) => c.ready).length;
    const problems = this.documentProblem ? [{ peer: "", message: this.documentProblem }, ...this.peers.problems] : this.peers.problems;
    return { clusters, ready, total: clusters.length, summary: meshSummary(ready, clusters.length), problems, ignored: this.peers.ignored };
  }

  /**
   * Disconnects from every remote cluster. With `emitDeletions`, all their records are reported
   * deleted; by default the consumer keeps them (the agent is shutting down).
   */
  async stop(options: { emitDeletions?: boolean } = {}): Promise<void> {
    await this.configWatcher?.stop();
    await this.updates.catch(() => undefined);
    await this.peers.clear((r) => r.stop(options));
  }

  private applyConfig(config: MeshConfig): Promise<void> {
    this.documentProblem = config.documentProblem;
    return this.setPeers(config.peers, { problems: config.problems, ignored: config.ignored });
  }

  private handlersFor(cluster: string): RemoteStateHandlers {
    const out: Partial<Record<MeshKind, KindHandlers<unknown>>> = {};
    for (const kind of MESH_KINDS) {
      const h = this.options.handlers?.[kind] as MeshKindHandlers<unknown> | undefined;
      if (!h) continue;
      out[kind] = {
        upsert: h.upsert ? (record, key) => h.upsert!(cluster, record, key) : undefined,
        delete: h.delete ? (record, key) => h.delete!(cluster, record, key) : undefined,
      };
    }
    return out as RemoteStateHandlers;
  }

  private notify(): void {
    const listener = this.options.onStatusChange;
    if (!listener) return;
    try {
      listener(this.status());
    } catch (e) {
      this.log.error({ err: (e as Error).message }, "status listener threw");
    }
  }
}
