import { ClosedError, LeaseLostError, isKvError } from "./errors.js";
import type { KeyValue, KvStore, Lease, ListResult, PutOptions, Txn, TxnResult, Value, Watch, WatchEvent, WatchHandlers, WatchOptions } from "./kvstore.js";
import { LeaseHandle } from "./lease-handle.js";
import { MemoryBackend, type WatchSink } from "./memory-backend.js";
import { checkTxn } from "./txn-checks.js";
import { checkKey, checkPrefix, checkTtl, describe, valueBytes } from "./values.js";

/**
 * The in-memory KvStore: etcd's semantics (revisions, versions, leases, watch history, compaction)
 * without a server, for unit tests of every layer above and for single-process use.
 *
 * Leases are kept alive by the client that granted them for as long as it is open; closing it
 * lets them expire after their TTL (a timer), and `expireLease()` ends one at once, as etcd would
 * after missed keepalives. `newClient()` gives another client of the same data, as a second
 * process connected to the same etcd: what one writes the other lists and watches.
 *
 * Values are copied on write and shared on read: treat returned buffers as read-only.
 */
export class MemoryStore implements KvStore {
  private backend = new MemoryBackend();
  private closed = false;
  private readonly watches = new Set<MemoryWatch>();
  private readonly leases = new Map<string, MemoryLease>();

  /** Another client of this store's data, closed independently. */
  newClient(): MemoryStore {
    const client = new MemoryStore();
    client.backend = this.backend;
    return client;
  }

  /**
   * Ends a lease now, as if its TTL had run out: its keys are deleted in one revision and its
   * owner's onLost listeners fire. Returns false if no such lease is alive.
   */
  expireLease(leaseId: string): boolean {
    return this.backend.expireLease(leaseId);
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.checkOpen();
    checkKey(key);
    return this.backend.get(key);
  }

  async list(prefix: string): Promise<ListResult> {
    this.checkOpen();
    checkPrefix(prefix);
    return this.backend.list(prefix);
  }

  async put(key: string, value: Value, options: PutOptions = {}): Promise<number> {
    this.checkOpen();
    checkKey(key);
    return this.backend.put(key, Buffer.from(valueBytes(value)), options.lease?.id);
  }

  async delete(key: string): Promise<number> {
    this.checkOpen();
    checkKey(key);
    return this.backend.delete(key);
  }

  async deletePrefix(prefix: string): Promise<number> {
    this.checkOpen();
    checkPrefix(prefix);
    return this.backend.deletePrefix(prefix);
  }

  async txn(txn: Txn): Promise<TxnResult> {
    this.checkOpen();
    checkTxn(txn);
    return this.backend.txn(txn);
  }

  async grantLease(ttlSeconds: number): Promise<Lease> {
    this.checkOpen();
    checkTtl(ttlSeconds);
    const handle: { lease?: MemoryLease } = {};
    const id = this.backend.grantLease(ttlSeconds, (reason) => handle.lease?.expired(reason));
    const lease = (handle.lease = new MemoryLease(id, ttlSeconds, this));
    this.leases.set(id, lease);
    return lease;
  }

  watch(prefix: string, handlers: WatchHandlers, options: WatchOptions = {}): Watch {
    const watch = new MemoryWatch(handlers, () => this.watches.delete(watch));
    if (this.closed) {
      watch.fail(new ClosedError("kvstore: the store is closed"));
      return watch;
    }
    try {
      checkPrefix(prefix);
      if (options.fromRevision !== undefined && !(Number.isInteger(options.fromRevision) && options.fromRevision >= 0)) {
        throw new TypeError(`kvstore watch: fromRevision must be a non-negative integer (got ${describe(options.fromRevision)})`);
      }
      watch.attach(this.backend.watch(prefix, watch, options.fromRevision));
      this.watches.add(watch);
    } catch (e) {
      if (!isKvError(e)) throw e;
      watch.fail(e);
    }
    return watch;
  }

  async compact(revision: number): Promise<void> {
    this.checkOpen();
    this.backend.compact(revision);
  }

  async revision(): Promise<number> {
    this.checkOpen();
    return this.backend.revision;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const watch of [...this.watches]) watch.fail(new ClosedError("kvstore: the store was closed"));
    for (const id of this.leases.keys()) this.backend.releaseLease(id);
    this.leases.clear();
  }

  /** @internal */
  revokeLease(lease: MemoryLease): void {
    this.checkOpen();
    this.leases.delete(lease.id);
    this.backend.revokeLease(lease.id);
  }

  /** @internal */
  forgetLease(id: string): void {
    this.leases.delete(id);
  }

  private checkOpen(): void {
    if (this.closed) throw new ClosedError("kvstore: the store is closed");
  }
}


class MemoryLease extends LeaseHandle {
  constructor(
    id: string,
    ttlSeconds: number,
    private readonly owner: MemoryStore,
  ) {
    super(id, ttlSeconds);
  }

  expired(reason: string): void {
    this.owner.forgetLease(this.id);
    this.markLost(new LeaseLostError(`kvstore: ${reason}; its keys were deleted, grant a new lease and write them again`));
  }

  async revoke(): Promise<void> {
    if (this.lost) return;
    this.owner.revokeLease(this);
    this.markEnded();
  }
}

/** One watch: queues what the backend hands it and delivers it asynchronously, a revision per call. */
class MemoryWatch implements Watch, WatchSink {
  readonly ready = Promise.resolve();
  private queue: { events: WatchEvent[]; revision: number }[] = [];
  private head = 0;
  private scheduled = false;
  private done = false;
  private detach: (() => void) | undefined;

  constructor(
    private readonly handlers: WatchHandlers,
    private readonly onEnd: () => void,
  ) {}

  attach(detach: () => void): void {
    if (this.done) detach();
    else this.detach = detach;
  }

  deliver(events: WatchEvent[], revision: number): void {
    if (this.done) return;
    this.queue.push({ events, revision });
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Ends the watch with an error, delivered asynchronously like events. */
  fail(error: Error): void {
    if (this.done) return;
    this.stop();
    queueMicrotask(() => this.handlers.onError(error));
  }

  async cancel(): Promise<void> {
    this.stop();
  }

  private stop(): void {
    this.done = true;
    this.queue = [];
    this.head = 0;
    this.detach?.();
    this.detach = undefined;
    this.onEnd();
  }

  private flush(): void {
    this.scheduled = false;
    while (!this.done && this.head < this.queue.length) {
      const batch = this.queue[this.head++]!;
      try {
        this.handlers.onEvents(batch.events, batch.revision);
      } catch (e) {
        // A consumer's bug must not stop delivery to it; surface it as an uncaught error.
        queueMicrotask(() => {
          throw e;
        });
      }
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    }
  }
}
