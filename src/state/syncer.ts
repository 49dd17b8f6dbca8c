import type { Logger } from "../log/logger.js";
import { isKvError } from "../kvstore/errors.js";
import { MAX_TXN_OPS, type KvStore, type Lease, type TxnOp } from "../kvstore/kvstore.js";

export interface SyncerOptions {
  /** Written once the initial set is in the store (Cilium's sync canary), and again after a lease loss. */
  readonly canaryKey?: string;
  /** Cilium binds state keys to a 15-minute lease. */
  readonly leaseTtlSeconds?: number;
  /** Retry delays after a failed write grow from this, doubling up to maxBackoffMs. */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly logger?: Logger;
}

export interface SyncerStats {
  readonly owned: number;
  readonly pending: number;
  readonly writes: number;
  readonly transactions: number;
  readonly errors: number;
  readonly leaseRenewals: number;
  readonly canaryWritten: boolean;
}

type Pending = { kind: "put"; value: Buffer } | { kind: "delete" };

/**
 * Owns a set of local records in the kvstore, all bound to one lease: callers say what should exist
 * (upsert/delete), the syncer writes the difference in batched transactions, keeps the lease alive,
 * writes the sync canary once the initial set is in, and writes everything again when the lease is
 * lost (the keys went with it). Writes that fail are retried with backoff; nothing is dropped.
 */
export class Syncer {
  private readonly desired = new Map<string, Buffer>();
  /** What the store holds under our current lease, as far as we know. */
  private readonly written = new Map<string, Buffer>();
  private readonly pending = new Map<string, Pending>();
  private lease: Lease | undefined;
  private unsubscribeLost: (() => void) | undefined;
  private initialDone = false;
  private canaryWritten = false;
  private running = false;
  private stopped = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private idleWaiters: (() => void)[] = [];
  private stats = { writes: 0, transactions: 0, errors: 0, leaseRenewals: 0 };

  constructor(
    private readonly store: KvStore,
    private readonly options: SyncerOptions = {},
  ) {}

  upsert(key: string, value: string | Uint8Array): void {
    const buf = Buffer.from(value);
    const cur = this.desired.get(key);
    if (cur && cur.equals(buf)) return;
    this.desired.set(key, buf);
    this.pending.set(key, { kind: "put", value: buf });
    this.kick();
  }

  delete(key: string): void {
    if (!this.desired.delete(key) && !this.written.has(key)) return;
    this.pending.set(key, { kind: "delete" });
    this.kick();
  }

  /** Every record of the initial set has been given; the canary follows once they are written. */
  markInitialSyncDone(): void {
    this.initialDone = true;
    this.kick();
  }

  has(key: string): boolean {
    return this.desired.has(key);
  }

  keys(): IterableIterator<string> {
    return this.desired.keys();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Resolves once everything given so far is in the store (and the canary, if due). */
  async flushed(): Promise<void> {
    if (this.isIdle()) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops writing. With `revoke`, the lease is revoked so every owned key disappears at once. */
  async stop(options: { revoke?: boolean } = {}): Promise<void> {
    this.stopped = true;
    this.kick();
    await this.loop;
    this.unsubscribeLost?.();
    if (options.revoke && this.lease) await this.lease.revoke().catch(() => undefined);
  }

  getStats(): SyncerStats {
    return { owned: this.desired.size, pending: this.pending.size, canaryWritten: this.canaryWritten, ...this.stats };
  }

  private isIdle(): boolean {
    return this.pending.size === 0 && (!this.initialDone || !this.options.canaryKey || this.canaryWritten);
  }

  private kick(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private async ensureLease(): Promise<Lease> {
    if (this.lease && !this.lease.lost) return this.lease;
    const hadLease = this.lease !== undefined;
    this.unsubscribeLost?.();
    const lease = await this.store.grantLease(this.options.leaseTtlSeconds ?? 900);
    this.lease = lease;
    this.unsubscribeLost = lease.onLost((e) => {
      this.options.logger?.warn({ err: e.message }, "kvstore lease lost; writing every owned record again");
      this.kick();
    });
    if (hadLease) {
      // The keys went with the old lease: everything we own is pending again, the canary too.
      this.stats.leaseRenewals++;
      this.written.clear();
      this.canaryWritten = false;
      for (const [k, v] of this.desired) this.pending.set(k, { kind: "put", value: v });
    }
    return lease;
  }

  private async run(): Promise<void> {
    let backoff = this.options.minBackoffMs ?? 100;
    while (!this.stopped) {
      if (this.isIdle() && !(this.lease?.lost ?? false)) {
        for (const w of this.idleWaiters.splice(0)) w();
        await this.sleep(60_000);
        continue;
      }
      try {
        const lease = await this.ensureLease();
        await this.writeBatch(lease);
        if (this.pending.size === 0 && this.initialDone && this.options.canaryKey && !this.canaryWritten) {
          await this.store.put(this.options.canaryKey, new Date().toISOString(), { lease });
          this.canaryWritten = true;
        }
        backoff = this.options.minBackoffMs ?? 100;
      } catch (e) {
        this.stats.errors++;
        const retryable = !isKvError(e) || e.retryable;
        this.options.logger?.warn({ err: (e as Error).message, retryable, backoffMs: backoff }, "kvstore write failed; will retry");
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, this.options.maxBackoffMs ?? 10_000);
      }
    }
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private async writeBatch(lease: Lease): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = [...this.pending.entries()].slice(0, MAX_TXN_OPS);
    const ops: TxnOp[] = batch.map(([key, p]) => (p.kind === "put" ? { type: "put", key, value: p.value, lease } : { type: "delete", key }));
    await this.store.txn({ success: ops });
    this.stats.transactions++;
    this.stats.writes += ops.length;
    for (const [key, p] of batch) {
      // Only clear what is still the same request: a newer upsert may have replaced it meanwhile.
      if (this.pending.get(key) === p) this.pending.delete(key);
      if (p.kind === "put") this.written.set(key, p.value);
      else this.written.delete(key);
    }
  }
}
