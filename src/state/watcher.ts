import type { Logger } from "../log/logger.js";
import type { KvStore } from "../kvstore/kvstore.js";
import { ListWatcher, type ListWatchOptions } from "../kvstore/list-watch.js";
import type { DecodeResult, RecordError, RecordErrorReason } from "./record-error.js";

export type RecordEvent<T> =
  | { readonly type: "upsert"; readonly key: string; readonly record: T }
  | { readonly type: "delete"; readonly key: string; readonly previous: T | undefined }
  | { readonly type: "synced" };

export interface RecordWatcherOptions<T> {
  readonly prefix: string;
  readonly decode: (key: string, value: Buffer) => DecodeResult<T>;
  readonly onEvent: (event: RecordEvent<T>) => void;
  /** Told of every record that was refused (it is also counted and logged, never thrown). */
  readonly onReject?: (error: RecordError) => void;
  /**
   * When the peer's cluster config says syncedCanaries, "synced" is reported only once this key
   * exists: the peer has finished writing its initial state, so an empty or partial listing is not
   * mistaken for the whole truth (and stale entries are not purged too early).
   */
  readonly canaryKey?: string;
  readonly listWatch?: ListWatchOptions;
  readonly logger?: Logger;
}

/**
 * Typed upsert/delete events for one prefix of one kvstore. Records that fail to decode are refused
 * and counted by reason; a refused update to a key we knew counts as a deletion of that key, since
 * its last good value can no longer be trusted to be current.
 */
export class RecordWatcher<T> {
  private readonly known = new Map<string, T>();
  private readonly rejected = new Map<RecordErrorReason, number>();
  private readonly records: ListWatcher;
  private readonly canary: ListWatcher | undefined;
  private listed = false;
  private canarySeen = false;
  private syncedEmitted = false;

  constructor(
    store: KvStore,
    private readonly options: RecordWatcherOptions<T>,
  ) {
    this.records = new ListWatcher(
      store,
      options.prefix,
      (e) => {
        if (e.type === "synced") {
          this.listed = true;
          this.maybeSynced();
        } else if (e.type === "upsert") {
          const r = options.decode(e.kv.key, e.kv.value);
          if (r.ok) {
            this.known.set(e.kv.key, r.record);
            options.onEvent({ type: "upsert", key: e.kv.key, record: r.record });
          } else {
            this.reject(r.error);
            this.forget(e.kv.key);
          }
        } else {
          this.forget(e.key);
        }
      },
      { ...options.listWatch, logger: options.logger },
    );
    this.canary = options.canaryKey
      ? new ListWatcher(
          store,
          options.canaryKey,
          (e) => {
            if (e.type === "upsert" && e.kv.key === options.canaryKey) {
              this.canarySeen = true;
              this.maybeSynced();
            }
          },
          { ...options.listWatch, logger: options.logger },
        )
      : undefined;
  }

  get synced(): boolean {
    return this.syncedEmitted;
  }

  get size(): number {
    return this.known.size;
  }

  entries(): IterableIterator<[string, T]> {
    return this.known.entries();
  }

  get(key: string): T | undefined {
    return this.known.get(key);
  }

  rejections(): ReadonlyMap<RecordErrorReason, number> {
    return this.rejected;
  }

  get relists(): number {
    return this.records.stats.relists;
  }

  async stop(): Promise<void> {
    await Promise.all([this.records.stop(), this.canary?.stop()]);
  }

  private forget(key: string): void {
    if (!this.known.has(key)) return;
    const previous = this.known.get(key);
    this.known.delete(key);
    this.options.onEvent({ type: "delete", key, previous });
  }

  private reject(error: RecordError): void {
    this.rejected.set(error.reason, (this.rejected.get(error.reason) ?? 0) + 1);
    this.options.logger?.warn({ key: error.key, reason: error.reason, field: error.field }, `refused record: ${error.message}`);
    this.options.onReject?.(error);
  }

  private maybeSynced(): void {
    if (this.syncedEmitted || !this.listed) return;
    if (this.options.canaryKey && !this.canarySeen) return;
    this.syncedEmitted = true;
    this.options.onEvent({ type: "synced" });
  }
}
