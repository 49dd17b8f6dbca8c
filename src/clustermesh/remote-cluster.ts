import { clusterNameProblem, type ClusterInfo } from "../cluster/index.js";
import type { KvStore } from "../kvstore/index.js";
import { subsystemLogger, type Logger } from "../log/logger.js";
import type { RecordEvent, RecordWatcher } from "../state/watcher.js";
import type { BackoffOptions } from "./backoff.js";
import { MESH_KINDS, perKind, type MeshKind, type MeshRecords, type PerKind } from "./kinds.js";
import { watchPeerKinds } from "./peer-kind-watchers.js";
import { PeerConnection, type ConfigCheck, type PeerSession, type SessionStart } from "./peer-connection.js";
import { RejectionCounter } from "./rejections.js";
import type { RemoteClusterStatus } from "./status.js";

export interface KindHandlers<T> {
  upsert?(record: T, key: string): void;
  /** `record` is the last version this consumer was given. */
  delete?(record: T, key: string): void;
}

/** The consumer's handlers, one pair per kind; `endpoints` are ipcache entries. */
export type RemoteStateHandlers = { readonly [K in MeshKind]?: KindHandlers<MeshRecords[K]> };

export interface RemoteClusterOptions {
  /** The remote cluster's name (its key in the mesh secret). */
  readonly name: string;
  readonly local: ClusterInfo;
  /**
   * Opens the store to read from, for each connection attempt: the remote cluster's own etcd
   * (direct), or the local etcd holding KVStoreMesh's cache. Its cluster config says which.
   */
  readonly connect: () => KvStore | Promise<KvStore>;
  readonly handlers?: RemoteStateHandlers;
  /** Close each store from `connect` when its connection ends (default true); false for a shared store. */
  readonly closeStore?: boolean;
  readonly backoff?: BackoffOptions;
  /**
   * Off by default, as in Cilium: state from a remote cluster is kept however long it is out of
   * reach. When set, state of a cluster disconnected for longer than this is deleted.
   */
  readonly cacheTtlSeconds?: number;
  /** What `status().mode` says until the cluster config has been read (default "direct"). */
  readonly mode?: "direct" | "cache";
  /** A further check of the cluster config (ClusterMesh uses it for cluster-ID clashes). */
  readonly checkConfig?: ConfigCheck;
  /** Called when connected, ready, stale, synced, the last error or the reason for not using the cluster change. */
  readonly onStatusChange?: (status: RemoteClusterStatus) => void;
  readonly logger?: Logger;
}

interface Held {
  readonly record: MeshRecords[MeshKind];
  readonly raw: Buffer;
}

interface Session {
  readonly seen: PerKind<Set<string>>;
  readonly synced: PerKind<boolean>;
  readonly watchers: RecordWatcher<Held>[];
  /** performance.now() when the session started. */
  readonly startedAt: number;
}

/**
 * The agent's view of one remote cluster: connects (again and again, with backoff), checks the
 * cluster's config, watches its nodes, endpoints, identities and services, refuses records that are
 * not the cluster's own, and hands the rest to the consumer as typed upserts and deletes.
 *
 * State outlives connections. After a reconnect, records are reported only when they changed, and
 * those deleted while the connection was down are reported deleted once the new listing of their
 * kind is complete (and, with syncedCanaries, the remote's canary for it exists).
 */
export class RemoteCluster {
  readonly name: string;
  private readonly log: Logger;
  private readonly connection: PeerConnection;
  private readonly state: PerKind<Map<string, Held>> = perKind(() => new Map());
  private readonly rejected = new RejectionCounter();
  private readonly syncSeconds: Partial<PerKind<number>> = {};
  private session: Session | undefined;
  private stale = false;
  private mode: "direct" | "cache";
  private ttlTimer: NodeJS.Timeout | undefined;
  private lastNotified = "";

  constructor(private readonly options: RemoteClusterOptions) {
    const why = typeof options.name === "string" ? clusterNameProblem(options.name) : "it must be a string";
    if (why !== undefined) throw new TypeError(`remote cluster name ${JSON.stringify(options.name)} is invalid: ${why}`);
    const ttl = options.cacheTtlSeconds;
    if (ttl !== undefined && !(Number.isFinite(ttl) && ttl > 0)) throw new RangeError(`cacheTtlSeconds must be a positive number of seconds (got ${String(ttl)})`);
    this.name = options.name;
    this.mode = options.mode ?? "direct";
    this.log = options.logger ?? subsystemLogger("clustermesh", { component: "remote-cluster", cluster: options.name });
    this.connection = new PeerConnection(
      { name: options.name, local: options.local, connect: options.connect, closeStore: options.closeStore, backoff: options.backoff, checkConfig: options.checkConfig, logger: this.log },
      {
        startSession: (start) => this.startSession(start),
        refused: () => this.dropAll(),
        lost: () => this.connectionLost(),
        changed: () => this.notify(),
      },
    );
  }

  start(): void {
    this.connection.start();
  }

  get ready(): boolean {
    return this.status().ready;
  }

  status(): RemoteClusterStatus {
    const c = this.connection;
    const session = this.session;
    const synced = perKind((k) => session?.synced[k] ?? false);
    const ready = c.connected && c.inSession && session !== undefined && MESH_KINDS.every((k) => synced[k]);
    return {
      name: this.name,
      ...(c.config ? { clusterId: c.config.id } : {}),
      connected: c.connected,
      ready,
      stale: this.stale,
      configured: true,
      synced,
      counts: perKind((k) => this.state[k].size),
      reconnections: c.reconnections,
      failures: c.failures,
      ...(c.lastFailure ? { lastFailure: c.lastFailure.toISOString() } : {}),
      ...(c.lastError !== undefined ? { lastError: c.lastError } : {}),
      rejected: this.rejected.snapshot(),
      syncSeconds: { ...this.syncSeconds },
      mode: this.mode,
      ...(c.notUsedReason !== undefined ? { notUsedReason: c.notUsedReason } : {}),
    };
  }

  /** The records currently held for `kind`. */
  records<K extends MeshKind>(kind: K): MeshRecords[K][] {
    return [...this.state[kind].values()].map((h) => h.record as MeshRecords[K]);
  }

  /** Reconnect now (the way to reach the cluster changed); state is kept and reconciled. */
  restart(): void {
    this.connection.restart();
  }

  /** Check the running session's config again, e.g. after another peer claimed the same cluster ID. */
  recheck(): void {
    this.connection.recheck();
  }

  /** End a backoff wait now. */
  retryNow(): void {
    this.connection.retryNow();
  }

  /**
   * Disconnects. With `emitDeletions`, every record of this cluster is reported deleted (the
   * cluster left the mesh); without, the consumer keeps what it has (e.g. the agent shuts down).
   */
  async stop(options: { emitDeletions?: boolean } = {}): Promise<void> {
    await this.connection.stop();
    this.clearTtl();
    if (options.emitDeletions) this.dropAll();
    this.notify();
  }

  private startSession(start: SessionStart): PeerSession {
    this.clearTtl();
    const cached = start.config.capabilities.cached;
    this.mode = cached ? "cache" : "direct";
    const session: Session = { seen: perKind(() => new Set()), synced: perKind(() => false), watchers: [], startedAt: performance.now() };
    this.session = session;
    session.watchers.push(
      ...watchPeerKinds<Held>(start, {
        peer: this.name,
        rejected: this.rejected,
        keep: (record, raw) => ({ record, raw }),
        onEvent: (kind, e) => this.onEvent(session, kind, e),
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

  private onEvent(session: Session, kind: MeshKind, e: RecordEvent<Held>): void {
    if (this.session !== session) return;
    const state = this.state[kind];
    if (e.type === "upsert") {
      session.seen[kind].add(e.key);
      if (state.get(e.key)?.raw.equals(e.record.raw)) return;
      state.set(e.key, e.record);
      this.call(kind, "upsert", e.record.record, e.key);
    } else if (e.type === "delete") {
      session.seen[kind].delete(e.key);
      this.remove(kind, e.key);
    } else {
      for (const key of [...state.keys()]) if (!session.seen[kind].has(key)) this.remove(kind, key);
      if (!session.synced[kind]) this.syncSeconds[kind] = (performance.now() - session.startedAt) / 1000;
      session.synced[kind] = true;
      if (MESH_KINDS.every((k) => session.synced[k])) {
        this.stale = false;
        this.log.info({ counts: this.status().counts }, "remote cluster synced");
      }
      this.notify();
    }
  }

  private remove(kind: MeshKind, key: string): void {
    const held = this.state[kind].get(key);
    if (held === undefined) return;
    this.state[kind].delete(key);
    this.call(kind, "delete", held.record, key);
  }

  private dropAll(): void {
    for (const kind of MESH_KINDS) for (const key of [...this.state[kind].keys()]) this.remove(kind, key);
    this.stale = false;
  }

  private connectionLost(): void {
    if (!MESH_KINDS.some((k) => this.state[k].size > 0)) return;
    this.stale = true;
    const ttl = this.options.cacheTtlSeconds;
    if (ttl === undefined || this.ttlTimer !== undefined) return;
    this.ttlTimer = setTimeout(() => {
      this.ttlTimer = undefined;
      if (this.connection.inSession) return;
      this.log.warn({ cacheTtlSeconds: ttl }, "remote cluster disconnected for longer than the cache TTL; deleting its state");
      this.dropAll();
      this.notify();
    }, ttl * 1000);
  }

  private clearTtl(): void {
    clearTimeout(this.ttlTimer);
    this.ttlTimer = undefined;
  }

  private call(kind: MeshKind, op: "upsert" | "delete", record: MeshRecords[MeshKind], key: string): void {
    const handler = (this.options.handlers?.[kind] as KindHandlers<MeshRecords[MeshKind]> | undefined)?.[op];
    if (handler === undefined) return;
    try {
      handler(record, key);
    } catch (e) {
      // The consumer's bug: keep the stream of events going, but make the failure loud.
      this.log.error({ err: (e as Error).message, kind, op, key }, "remote cluster handler threw");
    }
  }

  private notify(): void {
    const listener = this.options.onStatusChange;
    if (listener === undefined) return;
    const s = this.status();
    const signature = JSON.stringify([s.connected, s.ready, s.stale, s.synced, s.lastError, s.notUsedReason, s.mode, s.clusterId]);
    if (signature === this.lastNotified) return;
    this.lastNotified = signature;
    try {
      listener(s);
    } catch (e) {
      this.log.error({ err: (e as Error).message }, "status listener threw");
    }
  }
}
