import { clusterNameProblem, type ClusterInfo } from "../../cluster/index.js";
import type { KvStore } from "../../kvstore/index.js";
import { subsystemLogger, type Logger } from "../../log/logger.js";
import { stateToCacheKey } from "../../state/index.js";
import type { RecordEvent, RecordWatcher } from "../../state/watcher.js";
import { resolveBackoff, type Backoff, type BackoffOptions } from "../backoff.js";
import { MESH_KINDS, perKind, type MeshKind, type PerKind } from "../kinds.js";
import { watchPeerKinds } from "../peer-kind-watchers.js";
import { PeerConnection, type ConfigCheck, type PeerSession, type SessionStart } from "../peer-connection.js";
import { RejectionCounter } from "../rejections.js";
import type { ReflectorStatus } from "../status.js";
import { CacheWriter, drainPeerCache } from "./cache-writer.js";

export interface ReflectorOptions {
  /** The remote cluster's name. */
  readonly name: string;
  readonly local: ClusterInfo;
  /** The local etcd, where the cache is written. */
  readonly localStore: KvStore;
  /** Opens the remote cluster's etcd, for each connection attempt. */
  readonly connect: () => KvStore | Promise<KvStore>;
  readonly backoff?: BackoffOptions;
  /** Lease of the cache keys (default 900 s). */
  readonly leaseTtlSeconds?: number;
  /** A further check of the remote's cluster config (KvStoreMesh uses it for cluster-ID clashes). */
  readonly checkConfig?: ConfigCheck;
  readonly onStatusChange?: (status: ReflectorStatus) => void;
  readonly logger?: Logger;
}

interface Session {
  readonly seen: PerKind<Set<string>>;
  readonly listed: PerKind<boolean>;
  readonly watchers: RecordWatcher<Buffer>[];
  /** performance.now() when the session started. */
  readonly startedAt: number;
}

/**
 * KVStoreMesh for one remote cluster: follows the cluster's nodes, services, identities and
 * ipcache entries in its own etcd and mirrors them into the local etcd under cilium/cache/, byte
 * for byte, so that local agents read every remote cluster from one place. Records that are not
 * the remote cluster's own (wrong cluster, identity outside its range, malformed) are not copied.
 *
 * After a reconnect the remote state is listed again and the cache corrected: changed keys are
 * rewritten, keys deleted meanwhile are deleted. Until then the cache stays as it was.
 */
export class Reflector {
  readonly name: string;
  private readonly log: Logger;
  private readonly backoff: Backoff;
  private readonly connection: PeerConnection;
  private readonly rejected = new RejectionCounter();
  private readonly syncSeconds: Partial<PerKind<number>> = {};
  private writer: CacheWriter | undefined;
  private session: Session | undefined;
  private stale = false;
  private drained = false;
  private lastNotified = "";

  constructor(private readonly options: ReflectorOptions) {
    const why = typeof options.name === "string" ? clusterNameProblem(options.name) : "it must be a string";
    if (why !== undefined) throw new TypeError(`remote cluster name ${JSON.stringify(options.name)} is invalid: ${why}`);
    this.name = options.name;
    this.backoff = resolveBackoff(options.backoff);
    this.log = options.logger ?? subsystemLogger("kvstoremesh", { component: "reflector", cluster: options.name });
    this.connection = new PeerConnection(
      { name: options.name, local: options.local, connect: options.connect, backoff: options.backoff, checkConfig: options.checkConfig, logger: this.log },
      {
        startSession: (start) => this.startSession(start),
        refused: () => this.drain(),
        lost: () => {
          if (this.writer && MESH_KINDS.some((k) => this.writer!.count(k) > 0)) this.stale = true;
        },
        changed: () => this.notify(),
      },
    );
  }

  start(): void {
    this.connection.start();
  }

  restart(): void {
    this.connection.restart();
  }

  recheck(): void {
    this.connection.recheck();
  }

  retryNow(): void {
    this.connection.retryNow();
  }

  /** Resolves once every cache write given so far is in the local etcd. */
  async flushed(): Promise<void> {
    await this.writer?.flushed();
  }

  status(): ReflectorStatus {
    const c = this.connection;
    const session = this.session;
    const writer = this.writer;
    const synced = perKind((k) => (session?.listed[k] ?? false) && (writer?.synced(k) ?? false));
    return {
      name: this.name,
      ...(c.config ? { clusterId: c.config.id } : {}),
      connected: c.connected,
      ready: c.connected && c.inSession && MESH_KINDS.every((k) => synced[k]),
      stale: this.stale,
      configured: true,
      synced,
      counts: perKind((k) => writer?.count(k) ?? 0),
      reconnections: c.reconnections,
      failures: c.failures,
      ...(c.lastFailure ? { lastFailure: c.lastFailure.toISOString() } : {}),
      ...(c.lastError !== undefined ? { lastError: c.lastError } : {}),
      rejected: this.rejected.snapshot(),
      syncSeconds: { ...this.syncSeconds },
      mode: "direct",
      ...(c.notUsedReason !== undefined ? { notUsedReason: c.notUsedReason } : {}),
    };
  }

  /**
   * Disconnects. With `drain` (the remote cluster left the mesh) its cluster config, cache and
   * canaries are deleted from the local etcd; without, they stay for the next run to correct.
   */
  async stop(options: { drain?: boolean } = {}): Promise<void> {
    await this.connection.stop();
    if (options.drain) await this.drain();
    else {
      await this.writer?.stop();
      this.writer = undefined;
    }
    this.notify();
  }

  private async drain(): Promise<void> {
    const writer = this.writer;
    this.writer = undefined;
    this.stale = false;
    if (writer) await writer.drain();
    // Without a writer of this run, a cache from an earlier run may still be there: once is enough.
    else if (!this.drained) await drainPeerCache(this.options.localStore, this.name, this.backoff, this.log);
    this.drained = true;
  }

  private startSession(start: SessionStart): PeerSession {
    const writer = (this.writer ??= new CacheWriter({
      store: this.options.localStore,
      peer: this.name,
      leaseTtlSeconds: this.options.leaseTtlSeconds,
      backoff: this.backoff,
      logger: this.log,
    }));
    this.drained = false;
    writer.writeConfig(start.config);
    const cached = start.config.capabilities.cached;
    const session: Session = { seen: perKind(() => new Set()), listed: perKind(() => false), watchers: [], startedAt: performance.now() };
    this.session = session;
    session.watchers.push(
      ...watchPeerKinds<Buffer>(start, {
        peer: this.name,
        rejected: this.rejected,
        keep: (_record, raw) => raw, // what is copied is the bytes themselves
        onEvent: (kind, e) => this.onEvent(session, writer, kind, cached, e),
        logger: this.log,
      }),
    );
    return {
      stop: async () => {
        if (this.session === session) this.session = undefined;
        await Promise.all(session.watchers.map((w) => w.stop()));
      },
    };
  }

  private onEvent(session: Session, writer: CacheWriter, kind: MeshKind, cached: boolean, e: RecordEvent<Buffer>): void {
    if (this.session !== session) return;
    if (e.type === "synced") {
      for (const key of writer.keys(kind)) if (!session.seen[kind].has(key)) writer.delete(kind, key);
      session.listed[kind] = true;
      if (MESH_KINDS.every((k) => session.listed[k])) this.stale = false;
      void writer.listingComplete(kind).then(() => {
        // Synced means written to the local etcd: the time counts until the cache has it all.
        if (this.session === session && writer.synced(kind)) this.syncSeconds[kind] = (performance.now() - session.startedAt) / 1000;
        this.notify();
      });
      this.notify();
      return;
    }
    // A peer that is itself a cache (cached config) already uses the cache layout.
    const target = cached ? e.key : stateToCacheKey(e.key, this.name);
    if (target === undefined) return;
    if (e.type === "upsert") {
      session.seen[kind].add(target);
      writer.upsert(kind, target, e.record);
    } else {
      session.seen[kind].delete(target);
      writer.delete(kind, target);
    }
  }

  private notify(): void {
    const listener = this.options.onStatusChange;
    if (listener === undefined) return;
    const s = this.status();
    const signature = JSON.stringify([s.connected, s.ready, s.stale, s.synced, s.lastError, s.notUsedReason, s.clusterId]);
    if (signature === this.lastNotified) return;
    this.lastNotified = signature;
    try {
      listener(s);
    } catch (e) {
      this.log.error({ err: (e as Error).message }, "status listener threw");
    }
  }
}
