import type { KvStore } from "../../kvstore/index.js";
import type { Logger } from "../../log/logger.js";
import {
  SYNCED_PREFIX,
  cachePrefixOf,
  clusterConfigKey,
  encodeClusterConfig,
  syncCanaryKeyOf,
  type ClusterConfigRecord,
} from "../../state/index.js";
import { Syncer } from "../../state/syncer.js";
import { backoffDelay, type Backoff } from "../backoff.js";
import { MESH_KINDS, STATE_KIND, perKind, type MeshKind, type PerKind } from "../kinds.js";

export interface CacheWriterOptions {
  /** The local etcd. */
  readonly store: KvStore;
  readonly peer: string;
  /** Lease of the cache keys (default 900 s, as Cilium binds state keys). */
  readonly leaseTtlSeconds?: number;
  readonly backoff: Backoff;
  readonly logger: Logger;
}

/**
 * KVStoreMesh's copy of one peer in the local etcd: the cache keys of each kind (lease-bound,
 * written in batched transactions), the cache canary of each kind, and the peer's cluster config
 * marked `cached`. Values are written exactly as given: the bytes read from the peer.
 */
export class CacheWriter {
  private readonly syncers: PerKind<Syncer>;
  private readonly configSyncer: Syncer;
  private readonly listed: PerKind<"no" | "purging" | "yes"> = perKind(() => "no");
  private stopped = false;
  private wake: (() => void) | undefined;

  constructor(private readonly options: CacheWriterOptions) {
    const { store, peer, leaseTtlSeconds, logger } = options;
    this.syncers = perKind((kind) => new Syncer(store, { canaryKey: syncCanaryKeyOf(STATE_KIND[kind], peer, "cache"), leaseTtlSeconds, logger }));
    this.configSyncer = new Syncer(store, { leaseTtlSeconds, logger });
    for (const kind of MESH_KINDS) this.syncers[kind].start();
    this.configSyncer.start();
  }

  /** Publishes the peer's config for local readers: the source's, with `cached` (and canaries) added. */
  writeConfig(source: ClusterConfigRecord): void {
    const c = source.capabilities;
    const value = encodeClusterConfig({
      cluster: this.options.peer,
      id: source.id,
      capabilities: {
        syncedCanaries: true,
        cached: true,
        ...(c.maxConnectedClusters !== undefined ? { maxConnectedClusters: c.maxConnectedClusters } : {}),
        ...(c.serviceExportsEnabled !== undefined ? { serviceExportsEnabled: c.serviceExportsEnabled } : {}),
      },
    });
    this.configSyncer.upsert(clusterConfigKey(this.options.peer), value);
  }

  upsert(kind: MeshKind, key: string, value: Buffer): void {
    this.syncers[kind].upsert(key, value);
  }

  delete(kind: MeshKind, key: string): void {
    this.syncers[kind].delete(key);
  }

  keys(kind: MeshKind): string[] {
    return [...this.syncers[kind].keys()];
  }

  count(kind: MeshKind): number {
    return this.syncers[kind].getStats().owned;
  }

  /** The kind's cache canary is written: its first complete listing is in the local etcd. */
  synced(kind: MeshKind): boolean {
    return this.syncers[kind].getStats().canaryWritten;
  }

  /**
   * The first complete listing of `kind` has been given. Cache keys left from an earlier run that
   * the peer no longer has are deleted first, and then the canary is written, so that a reader
   * trusting the canary never sees them. Resolves once the canary is written.
   */
  async listingComplete(kind: MeshKind): Promise<void> {
    if (this.listed[kind] !== "no") return;
    this.listed[kind] = "purging";
    const syncer = this.syncers[kind];
    const prefix = cachePrefixOf(STATE_KIND[kind], this.options.peer);
    for (let failures = 0; !this.stopped; failures++) {
      try {
        const listing = await this.options.store.list(prefix);
        let purged = 0;
        for (const kv of listing.kvs) {
          if (syncer.has(kv.key) || this.stopped) continue;
          // Only if untouched since the listing: the syncer may have just written it anew.
          const res = await this.options.store.txn({ compare: [{ key: kv.key, target: "modRevision", op: "==", value: kv.modRevision }], success: [{ type: "delete", key: kv.key }] });
          if (res.succeeded) purged++;
        }
        if (purged > 0) this.options.logger.info({ kind, purged }, "deleted cache keys the remote cluster no longer has");
        break;
      } catch (e) {
        const delay = backoffDelay(this.options.backoff, failures);
        this.options.logger.warn({ kind, err: (e as Error).message, retryInMs: delay }, "listing the local cache for stale keys failed; retrying");
        await this.sleep(delay);
      }
    }
    if (this.stopped) return;
    this.listed[kind] = "yes";
    syncer.markInitialSyncDone();
    await syncer.flushed();
  }

  /** Resolves once everything given so far (and due canaries) is in the local etcd. */
  async flushed(): Promise<void> {
    await Promise.all([...MESH_KINDS.map((k) => this.syncers[k].flushed()), this.configSyncer.flushed()]);
  }

  /** Stops writing and leaves the cache in place (its keys expire with their lease unless written again). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await Promise.all([...MESH_KINDS.map((k) => this.syncers[k].stop()), this.configSyncer.stop()]);
  }

  /** Stops writing and deletes everything of this peer from the local etcd. */
  async drain(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    // The config first: a reader that finds no config does not start reading a half-deleted cache.
    await this.configSyncer.stop({ revoke: true });
    await Promise.all(MESH_KINDS.map((k) => this.syncers[k].stop({ revoke: true })));
    await drainPeerCache(this.options.store, this.options.peer, this.options.backoff, this.options.logger);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      this.wake = done;
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
  }
}

/**
 * Deletes a peer's cluster config, cache keys and cache canaries from the local etcd, config
 * first. Retries a few times; throws the last error if the local etcd keeps refusing.
 */
export async function drainPeerCache(store: KvStore, peer: string, backoff: Backoff, logger: Logger): Promise<void> {
  const steps: [string, () => Promise<number>][] = [
    [clusterConfigKey(peer), () => store.delete(clusterConfigKey(peer))],
    ...MESH_KINDS.map((k): [string, () => Promise<number>] => [cachePrefixOf(STATE_KIND[k], peer), () => store.deletePrefix(cachePrefixOf(STATE_KIND[k], peer))]),
    [`${SYNCED_PREFIX}/${peer}/`, () => store.deletePrefix(`${SYNCED_PREFIX}/${peer}/`)],
  ];
  let deleted = 0;
  for (const [what, step] of steps) {
    for (let failures = 0; ; failures++) {
      try {
        deleted += await step();
        break;
      } catch (e) {
        if (failures >= 4) throw new Error(`could not delete ${what} of remote cluster ${peer} from the local etcd: ${(e as Error).message}`, { cause: e });
        await new Promise((r) => setTimeout(r, backoffDelay(backoff, failures)));
      }
    }
  }
  logger.info({ peer, deleted }, "deleted the remote cluster's cache from the local etcd");
}
