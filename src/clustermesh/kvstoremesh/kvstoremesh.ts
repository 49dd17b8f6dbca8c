import type { ClusterInfo } from "../../cluster/index.js";
import type { KvStore } from "../../kvstore/index.js";
import { subsystemLogger, type Logger } from "../../log/logger.js";
import { CLUSTER_CONFIG_PREFIX, decodeClusterConfig } from "../../state/index.js";
import { resolveBackoff, type Backoff, type BackoffOptions } from "../backoff.js";
import { ConfigWatcher, type MeshConfig } from "../config-watcher.js";
import { connectPeerEtcd, type PeerConfig } from "../peer-config.js";
import { PeerWorkers } from "../peer-workers.js";
import { meshSummary, type KvStoreMeshStatus, type PeerProblem } from "../status.js";
import { drainPeerCache } from "./cache-writer.js";
import { Reflector } from "./reflector.js";

export interface KvStoreMeshOptions {
  readonly local: ClusterInfo;
  /** The local etcd: the mesh secret is read from it and the caches are written to it. */
  readonly store: KvStore;
  /** Opens a remote cluster's etcd, for each connection attempt (default: an etcd client of the peer's endpoints). */
  readonly connect?: (peer: PeerConfig) => KvStore | Promise<KvStore>;
  /** The mesh secret's key (default trellis/secrets/kube-system/cilium-clustermesh). */
  readonly secretKey?: string;
  readonly backoff?: BackoffOptions;
  /** Lease of the cache keys (default 900 s). */
  readonly leaseTtlSeconds?: number;
  readonly onStatusChange?: (status: KvStoreMeshStatus) => void;
  readonly logger?: Logger;
}

/**
 * The `trellis kvstoremesh` daemon's core: follows the mesh secret in the local etcd and runs one
 * Reflector per remote cluster in it, adding and removing them live. A remote cluster that leaves
 * the secret has its cache deleted from the local etcd, and so does one left over from an earlier
 * run that the secret no longer names.
 */
export class KvStoreMesh {
  private readonly log: Logger;
  private readonly backoff: Backoff;
  private readonly peers: PeerWorkers<Reflector>;
  private configWatcher: ConfigWatcher | undefined;
  private documentProblem: string | undefined;
  private updates: Promise<void> = Promise.resolve();
  private orphansChecked = false;

  constructor(private readonly options: KvStoreMeshOptions) {
    this.log = options.logger ?? subsystemLogger("kvstoremesh");
    this.backoff = resolveBackoff(options.backoff);
    const connect = options.connect ?? ((peer: PeerConfig) => connectPeerEtcd(peer));
    this.peers = new PeerWorkers<Reflector>({
      local: options.local,
      logger: this.log,
      create: (peer, checkConfig) =>
        new Reflector({
          name: peer.name,
          local: options.local,
          localStore: options.store,
          connect: () => connect(this.peers.configOf(peer.name) ?? peer),
          backoff: options.backoff,
          leaseTtlSeconds: options.leaseTtlSeconds,
          checkConfig,
          onStatusChange: () => this.notify(),
          logger: this.log.child({ cluster: peer.name }),
        }),
      remove: async (name, reflector) => {
        try {
          await reflector.stop({ drain: true });
        } catch (e) {
          this.log.error({ peer: name, err: (e as Error).message }, "removing the remote cluster's cache failed");
        }
        this.notify();
      },
    });
  }

  /** Starts following the mesh secret in the local etcd. */
  start(): void {
    this.configWatcher ??= new ConfigWatcher(this.options.store, {
      localCluster: this.options.local.name,
      key: this.options.secretKey,
      logger: this.log,
      onChange: (config) => void this.applyConfig(config),
    });
  }

  /** Resolves once the mesh secret has been read and its reflectors started. */
  async waitConfigured(): Promise<void> {
    await this.configWatcher?.waitSynced();
    await this.updates;
  }

  /** Makes the reflected remote clusters match `peers` (instead of, or besides, the secret). */
  setPeers(peers: readonly PeerConfig[], context: { problems?: readonly PeerProblem[]; ignored?: readonly string[] } = {}): Promise<void> {
    const run = this.updates.then(async () => {
      await this.peers.update(peers, context);
      if (!this.orphansChecked) {
        this.orphansChecked = true;
        await this.drainOrphans();
      }
      this.notify();
    });
    this.updates = run.catch((e: unknown) => this.log.error({ err: (e as Error).message }, "applying the mesh configuration failed"));
    return run;
  }

  reflector(name: string): Reflector | undefined {
    return this.peers.get(name);
  }

  status(): KvStoreMeshStatus {
    const clusters = this.peers.all().map((r) => r.status());
    const ready = clusters.filter((c) => c.ready).length;
    const problems = this.documentProblem ? [{ peer: "", message: this.documentProblem }, ...this.peers.problems] : this.peers.problems;
    return { clusters, ready, total: clusters.length, summary: meshSummary(ready, clusters.length), problems, ignored: this.peers.ignored };
  }

  /**
   * Stops every reflector. By default the caches stay in the local etcd (agents keep reading them,
   * and the next run corrects them); with `drain` they are deleted.
   */
  async stop(options: { drain?: boolean } = {}): Promise<void> {
    await this.configWatcher?.stop();
    await this.updates;
    await this.peers.clear((r) => r.stop(options));
  }

  private applyConfig(config: MeshConfig): Promise<void> {
    this.documentProblem = config.documentProblem;
    return this.setPeers(config.peers, { problems: config.problems, ignored: config.ignored });
  }

  /** Caches this daemon wrote in an earlier run for remote clusters no longer configured. */
  private async drainOrphans(): Promise<void> {
    try {
      const listing = await this.options.store.list(`${CLUSTER_CONFIG_PREFIX}/`);
      for (const kv of listing.kvs) {
        const config = decodeClusterConfig(kv.key, kv.value);
        if (!config.ok || !config.record.capabilities.cached) continue;
        const name = config.record.cluster;
        if (name === this.options.local.name || this.peers.get(name)) continue;
        this.log.info({ peer: name }, "a cache of a remote cluster no longer configured is left from an earlier run; deleting it");
        await drainPeerCache(this.options.store, name, this.backoff, this.log);
      }
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, "looking for caches of remote clusters no longer configured failed");
    }
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
