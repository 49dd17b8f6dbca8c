import type { ClusterInfo } from "../cluster/index.js";
import type { KvStore } from "../kvstore/index.js";
import type { Logger } from "../log/logger.js";
import { clusterConfigKey, decodeClusterConfig, type ClusterConfigRecord } from "../state/index.js";
import { backoffDelay, resolveBackoff, type Backoff, type BackoffOptions } from "./backoff.js";
import { peerClusterInfo, remoteConfigProblem } from "./remote-config.js";

/** A further check of a peer's config (e.g. cluster-ID clashes among peers): why it is refused, or undefined. */
export type ConfigCheck = (config: ClusterConfigRecord) => string | undefined;

export interface SessionStart {
  readonly store: KvStore;
  readonly config: ClusterConfigRecord;
  /** The peer as its config describes it: the DecodeContext for its records. */
  readonly peer: ClusterInfo;
  /** Ends this session as a connection failure: the owner keeps its state, and a new session follows after a backoff. */
  fail(error: Error): void;
}

export interface PeerSession {
  stop(): Promise<void>;
}

export interface PeerConnectionOptions {
  readonly name: string;
  readonly local: ClusterInfo;
  /** Called for every connection attempt. */
  readonly connect: () => KvStore | Promise<KvStore>;
  /** Close each store when its connection ends (default true); false for a store shared with others. */
  readonly closeStore?: boolean;
  readonly backoff?: BackoffOptions;
  readonly checkConfig?: ConfigCheck;
  readonly logger: Logger;
}

/** What the owner (remote cluster, reflector) does at each turn of the connection's life. */
export interface PeerConnectionHooks {
  /** The config was read and accepted: watch the peer's state through `start.store`. */
  startSession(start: SessionStart): PeerSession;
  /** The config rules the peer out: its state must not be used any more. */
  refused(reason: string): void | Promise<void>;
  /** The connection failed; state already received is kept. */
  lost(error: Error): void;
  /** Something in the status changed. */
  changed(): void;
}

type SessionEnd = { type: "failed"; error: Error } | { type: "refused"; reason: string } | { type: "restart" } | { type: "stopped" };
type AttemptEnd = Exclude<SessionEnd, { type: "refused" }> & { healthy?: boolean };
type ConfigRead = { type: "accepted"; config: ClusterConfigRecord; peer: ClusterInfo } | { type: "missing"; message: string } | { type: "refused"; reason: string };

/** A session that lasted this long was healthy: the next failure starts the backoff afresh. */
const HEALTHY_SESSION_MS = 10_000;

/**
 * The life of one connection to a peer's store, shared by the agent's view of a remote cluster
 * and KVStoreMesh's reflector: connect through the factory, read the peer's cluster config from
 * that store, check it, run a session until it fails, and reconnect with exponential backoff and
 * jitter. A missing config is waited for on the same connection; a refused one makes the owner
 * drop the peer's state, and is read again after a backoff in case the peer is fixed.
 */
export class PeerConnection {
  connected = false;
  /** Connection attempts after the first one. */
  reconnections = 0;
  /** Connections that failed or were lost (a restart on request is not a failure). */
  failures = 0;
  lastFailure: Date | undefined;
  lastError: string | undefined;
  notUsedReason: string | undefined;
  /** The config last read, accepted or not. */
  config: ClusterConfigRecord | undefined;

  private readonly backoff: Backoff;
  private stopped = false;
  private restartRequested = false;
  private loop: Promise<void> | undefined;
  private endSession: ((end: SessionEnd) => void) | undefined;
  private activeConfig: ClusterConfigRecord | undefined;
  /** Sessions started so far: a switch prepared for one session is dropped once another runs. */
  private sessions = 0;
  /** Bumped by every restart(), so that only the newest switch goes ahead. */
  private switches = 0;
  /** A store through which the new configuration was seen to work: the next attempt uses it. */
  private nextStore: KvStore | undefined;
  private wake: (() => void) | undefined;
  private wakeSwitch: (() => void) | undefined;
  private stopSignal: Promise<void>;
  private signalStop!: () => void;

  constructor(
    private readonly options: PeerConnectionOptions,
    private readonly hooks: PeerConnectionHooks,
  ) {
    this.backoff = resolveBackoff(options.backoff);
    this.stopSignal = new Promise((resolve) => (this.signalStop = resolve));
  }

  /** A session is running on an accepted config. */
  get inSession(): boolean {
    return this.activeConfig !== undefined;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.signalStop();
    this.endSession?.({ type: "stopped" });
    this.wake?.();
    this.wakeSwitch?.();
    await this.loop;
  }

  /**
   * Reconnect through the factory (its configuration changed, e.g. a renewed certificate); state
   * is kept and reconciled. A running session is replaced only once a connection made with the new
   * configuration has answered, so a renewal never leaves a gap, and a configuration that does not
   * work leaves the working connection alone (lastError says why) while it is tried again.
   */
  restart(): void {
    if (this.stopped) return;
    const switchId = ++this.switches;
    if (this.endSession !== undefined) {
      void this.switchOver(switchId, this.sessions);
      return;
    }
    this.restartRequested = true;
    this.wake?.();
  }

  /** Checks the running session's config again (another peer may now claim its ID). */
  recheck(): void {
    const config = this.activeConfig;
    if (config === undefined || this.endSession === undefined) return;
    const why = this.problemOf(config);
    if (why !== undefined) this.endSession({ type: "refused", reason: why });
  }

  /** Ends a backoff wait early (a clash that refused this peer is gone). */
  retryNow(): void {
    this.wake?.();
  }

  private async run(): Promise<void> {
    let failures = 0;
    for (let attempt = 0; !this.stopped; attempt++) {
      if (attempt > 0) this.reconnections++;
      this.restartRequested = false;
      const end = await this.attempt();
      if (this.stopped || end.type === "stopped") break;
      if (end.type === "restart") continue;
      if (end.healthy) failures = 0;
      this.connected = false;
      this.failures++;
      this.lastFailure = new Date();
      this.lastError = end.error.message;
      this.options.logger.warn({ err: end.error.message, code: (end.error as { code?: string }).code }, "connection to remote cluster lost or failed");
      this.hooks.lost(end.error);
      this.hooks.changed();
      await this.sleep(backoffDelay(this.backoff, failures++));
    }
    this.connected = false;
    const unused = this.nextStore;
    this.nextStore = undefined;
    await this.release(unused);
  }

  private async attempt(): Promise<AttemptEnd> {
    let store: KvStore;
    try {
      store = this.nextStore ?? (await this.options.connect());
      this.nextStore = undefined;
    } catch (e) {
      return { type: "failed", error: asError(e) };
    }
    try {
      let waits = 0;
      for (;;) {
        if (this.stopped) return { type: "stopped" };
        if (this.restartRequested) return { type: "restart" };
        const read = await this.readConfig(store);
        if (read === undefined) return { type: "stopped" };
        this.connected = true;
        if (read.type === "accepted") {
          const end = await this.runSession(store, read.config, read.peer);
          if (end.type !== "refused") return end;
          await this.refuse(end.reason);
        } else if (read.type === "refused") {
          await this.refuse(read.reason);
        } else {
          this.lastError = read.message;
          this.options.logger.warn({ err: read.message }, "remote cluster config not available yet");
          this.hooks.changed();
        }
        await this.sleep(backoffDelay(this.backoff, waits++));
      }
    } catch (e) {
      return { type: "failed", error: asError(e) };
    } finally {
      if (this.options.closeStore ?? true) await store.close().catch(() => undefined);
    }
  }

  private async readConfig(store: KvStore): Promise<ConfigRead | undefined> {
    const key = clusterConfigKey(this.options.name);
    const kv = await Promise.race([store.get(key), this.stopSignal]);
    if (this.stopped) return undefined;
    if (kv === undefined) {
      return { type: "missing", message: `no cluster configuration at ${key} in the store read: the remote cluster has not published it yet (is its operator running?)` };
    }
    const decoded = decodeClusterConfig(key, kv.value);
    if (!decoded.ok) {
      this.config = undefined;
      return { type: "refused", reason: `its cluster configuration is invalid: ${decoded.error.message}` };
    }
    this.config = decoded.record;
    const why = this.problemOf(decoded.record);
    if (why !== undefined) return { type: "refused", reason: why };
    try {
      return { type: "accepted", config: decoded.record, peer: peerClusterInfo(decoded.record) };
    } catch (e) {
      return { type: "refused", reason: (e as Error).message };
    }
  }

  private problemOf(config: ClusterConfigRecord): string | undefined {
    return remoteConfigProblem(this.options.local, config) ?? this.options.checkConfig?.(config);
  }

  private async refuse(reason: string): Promise<void> {
    const first = this.notUsedReason !== reason;
    this.notUsedReason = reason;
    if (first) this.options.logger.error({ reason }, "remote cluster not used");
    try {
      await this.hooks.refused(reason);
    } catch (e) {
      this.options.logger.error({ err: (e as Error).message }, "dropping a refused remote cluster's state failed");
    }
    this.hooks.changed();
  }

  private async runSession(store: KvStore, config: ClusterConfigRecord, peer: ClusterInfo): Promise<SessionEnd & { healthy?: boolean }> {
    let settle!: (end: SessionEnd) => void;
    const ended = new Promise<SessionEnd>((resolve) => (settle = resolve));
    let done = false;
    const finish = (end: SessionEnd) => {
      if (done) return;
      done = true;
      settle(end);
    };
    this.notUsedReason = undefined;
    let session: PeerSession | undefined;
    try {
      session = this.hooks.startSession({ store, config, peer, fail: (error) => finish({ type: "failed", error }) });
    } catch (e) {
      finish({ type: "failed", error: asError(e) });
    }
    this.endSession = finish;
    this.activeConfig = config;
    this.sessions++;
    if (this.stopped) finish({ type: "stopped" });
    if (this.restartRequested) finish({ type: "restart" });
    this.hooks.changed();
    const started = Date.now();
    const end = await ended;
    this.endSession = undefined;
    this.activeConfig = undefined;
    await session?.stop().catch((e: unknown) => this.options.logger.warn({ err: asError(e).message }, "stopping a session failed"));
    return { ...end, healthy: Date.now() - started >= HEALTHY_SESSION_MS };
  }

  /**
   * Opens a connection with the configuration now in force and reads the peer's cluster config
   * through it; once that answers, the running session ends and the next one uses this connection.
   */
  private async switchOver(switchId: number, session: number): Promise<void> {
    const current = () => !this.stopped && switchId === this.switches && session === this.sessions && this.endSession !== undefined;
    for (let failures = 0; current(); failures++) {
      let store: KvStore | undefined;
      try {
        store = await this.options.connect();
        await Promise.race([store.get(clusterConfigKey(this.options.name)), this.stopSignal]);
      } catch (e) {
        await this.release(store);
        if (!current()) return;
        this.lastError = `a new configuration is not used yet (the current connection stays in use): ${asError(e).message}`;
        this.options.logger.warn({ err: asError(e).message }, "the remote cluster's new configuration does not work yet; keeping the current connection and trying again");
        this.hooks.changed();
        await this.pause(backoffDelay(this.backoff, failures));
        continue;
      }
      if (!current()) {
        await this.release(store);
        return;
      }
      this.options.logger.info("the remote cluster's new configuration works; moving over to it");
      this.nextStore = store;
      this.restartRequested = true;
      this.endSession!({ type: "restart" });
      return;
    }
  }

  private async release(store: KvStore | undefined): Promise<void> {
    if (store && (this.options.closeStore ?? true)) await store.close().catch(() => undefined);
  }

  /** A wait that only stop() cuts short (the main loop's sleep has its own wake-up). */
  private pause(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.wakeSwitch === done) this.wakeSwitch = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeSwitch = done;
    });
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped || this.restartRequested) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      this.wake = done;
      function done() {
        clearTimeout(timer);
        resolve();
      }
    }).finally(() => {
      this.wake = undefined;
    });
  }
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
