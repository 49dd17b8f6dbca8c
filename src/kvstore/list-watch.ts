import { subsystemLogger, type Logger } from "../log/logger.js";
import { ClosedError } from "./errors.js";
import type { KeyValue, KvStore, Watch, WatchEvent } from "./kvstore.js";

export type ListWatchEvent =
  | { readonly type: "upsert"; readonly kv: KeyValue }
  | { readonly type: "delete"; readonly key: string }
  /** The first full listing has been emitted; comes once. */
  | { readonly type: "synced" };

export interface ListWatchOptions {
  /** First wait after an error; doubles per failed attempt up to maxBackoffMs, ±20% jitter (default 200 ms). */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Told of every error the helper recovers from (it also logs them). */
  readonly onError?: (error: Error) => void;
  readonly logger?: Logger;
}

export interface ListWatchStats {
  /** Listings after the first one. */
  readonly relists: number;
  /** Failed lists and ended watches. */
  readonly errors: number;
  readonly lastError: Error | undefined;
  /** Revision up to which the consumer has been told everything. */
  readonly revision: number;
}

/** A watch that lasted this long counts as healthy: the next error starts the backoff afresh. */
const HEALTHY_WATCH_MS = 10_000;

/**
 * Keeps a consumer in step with a prefix and never misses a deletion: list, emit every key, mark
 * synced, watch from the list's revision + 1. When the watch ends (connection lost, history
 * compacted) it waits with backoff and lists again, emitting upserts for keys whose modRevision
 * changed, deletes for keys that vanished in the gap, and nothing for unchanged keys. A re-list
 * alone shows what exists, not what went away; forgetting those deletions is Cilium issue #24740.
 */
export class ListWatcher {
  private readonly known = new Map<string, number>();
  private readonly log: Logger;
  private stopped = false;
  private lists = 0;
  private errorCount = 0;
  private lastErr: Error | undefined;
  private rev = 0;
  private syncedOnce = false;
  private syncWaiters: (() => void)[] = [];
  private watch: Watch | undefined;
  private wakeUp: (() => void) | undefined;
  private readonly done: Promise<void>;

  constructor(
    private readonly store: KvStore,
    readonly prefix: string,
    private readonly onEvent: (event: ListWatchEvent) => void,
    private readonly options: ListWatchOptions = {},
  ) {
    this.log = options.logger ?? subsystemLogger("kvstore", { component: "list-watch", prefix });
    this.done = this.run();
  }

  get stats(): ListWatchStats {
    return { relists: Math.max(0, this.lists - 1), errors: this.errorCount, lastError: this.lastErr, revision: this.rev };
  }

  /** False once stopped, by stop() or because the store was closed. */
  get running(): boolean {
    return !this.stopped;
  }

  get synced(): boolean {
    return this.syncedOnce;
  }

  /** Resolves once the first listing has been emitted (or the helper stopped before that). */
  waitSynced(): Promise<void> {
    if (this.syncedOnce || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  /** Ends the watch and any wait; no event is emitted after this resolves. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeUp?.();
    await this.watch?.cancel();
    await this.done;
    for (const w of this.syncWaiters.splice(0)) w();
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.stopped) {
      let watchedSince: number | undefined;
      try {
        const listing = await this.store.list(this.prefix);
        if (this.stopped) return;
        this.lists++;
        this.reconcile(listing.kvs);
        this.rev = listing.revision;
        if (!this.syncedOnce) {
          this.syncedOnce = true;
          this.emit({ type: "synced" });
          for (const w of this.syncWaiters.splice(0)) w();
        }
        watchedSince = Date.now();
        const ended = await this.watchFrom(listing.revision + 1);
        if (this.stopped) return;
        throw ended;
      } catch (e) {
        if (this.stopped) return;
        const error = e instanceof Error ? e : new Error(String(e));
        if (error instanceof ClosedError) {
          this.log.info({ err: error.message }, "store closed; list-watch stops");
          this.stopped = true;
          for (const w of this.syncWaiters.splice(0)) w();
          return;
        }
        this.errorCount++;
        this.lastErr = error;
        if (watchedSince !== undefined && Date.now() - watchedSince >= HEALTHY_WATCH_MS) attempt = 0;
        const delay = this.backoff(attempt++);
        this.log.warn({ err: error.message, code: (error as { code?: string }).code, retryInMs: delay }, "list-watch interrupted; listing again");
        this.options.onError?.(error);
        await this.sleep(delay);
      }
    }
  }

  /** Watches until the watch ends; resolves with the reason. */
  private watchFrom(revision: number): Promise<Error> {
    return new Promise((resolve) => {
      this.wakeUp = () => resolve(new ClosedError("list-watch stopped"));
      this.watch = this.store.watch(
        this.prefix,
        {
          onEvents: (events, rev) => this.apply(events, rev),
          onError: (error) => resolve(error),
        },
        { fromRevision: revision },
      );
    });
  }

  private reconcile(kvs: readonly KeyValue[]): void {
    const seen = new Set<string>();
    for (const kv of kvs) {
      seen.add(kv.key);
      if (this.known.get(kv.key) === kv.modRevision) continue;
      this.known.set(kv.key, kv.modRevision);
      this.emit({ type: "upsert", kv });
    }
    if (seen.size === this.known.size) return;
    for (const key of [...this.known.keys()]) {
      if (seen.has(key)) continue;
      this.known.delete(key);
      this.emit({ type: "delete", key });
    }
  }

  private apply(events: readonly WatchEvent[], revision: number): void {
    if (this.stopped) return;
    for (const ev of events) {
      if (ev.type === "put") {
        this.known.set(ev.kv.key, ev.kv.modRevision);
        this.emit({ type: "upsert", kv: ev.kv });
      } else if (this.known.delete(ev.key)) {
        this.emit({ type: "delete", key: ev.key });
      }
    }
    this.rev = revision;
  }

  private emit(event: ListWatchEvent): void {
    try {
      this.onEvent(event);
    } catch (e) {
      // The consumer's bug: keep the stream of events going, but make the failure loud.
      this.log.error({ err: (e as Error).message, event: event.type }, "list-watch consumer threw");
    }
  }

  private backoff(attempt: number): number {
    const initial = this.options.initialBackoffMs ?? 200;
    const max = this.options.maxBackoffMs ?? 10_000;
    const base = Math.min(max, initial * 2 ** Math.min(attempt, 30));
    return Math.round(base * (0.8 + 0.4 * Math.random()));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
  }
}

/** Starts a ListWatcher: `onEvent` receives upserts, deletes and one "synced". */
export function listAndWatch(store: KvStore, prefix: string, onEvent: (event: ListWatchEvent) => void, options?: ListWatchOptions): ListWatcher {
  return new ListWatcher(store, prefix, onEvent, options);
}
