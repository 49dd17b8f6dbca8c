import { CompactedError, LeaseLostError } from "./errors.js";
import type { Compare, KeyValue, ListResult, TxnOp, TxnResult, Txn, WatchEvent } from "./kvstore.js";
import { SortedKeys } from "./sorted-keys.js";
import { compareKeys, valueBytes } from "./values.js";

/**
 * The data behind MemoryStore, playing etcd's server role: keys, one global revision, history for
 * watches until compacted, leases and their expiry. Several MemoryStore clients may share one
 * backend, as several processes share one etcd. Everything here is synchronous; clients add the
 * async surface and the closed state.
 */

/** Receives the events of one revision at a time, in order. */
export interface WatchSink {
  deliver(events: WatchEvent[], revision: number): void;
}

interface Watcher {
  readonly prefix: string;
  readonly sink: WatchSink;
  /** A watch from a future revision hears nothing before it. */
  readonly fromRevision: number;
}

interface HistoryEntry {
  readonly revision: number;
  readonly events: WatchEvent[];
}

/** Server-side state of one lease. */
interface LeaseRecord {
  readonly id: string;
  readonly ttlSeconds: number;
  readonly keys: Set<string>;
  /** Told when the lease ends without its owner revoking it; cleared when the owner lets go. */
  onExpired: ((reason: string) => void) | undefined;
  /** Runs only while nobody keeps the lease alive. */
  timer: NodeJS.Timeout | undefined;
}

export class MemoryBackend {
  private rev = 1;
  private compactRev = 0;
  private readonly kvs = new Map<string, KeyValue>();
  private readonly index = new SortedKeys();
  private readonly history: HistoryEntry[] = [];
  private readonly watchers = new Set<Watcher>();
  private readonly leases = new Map<string, LeaseRecord>();
  private leaseSeq = 0;
  /** Events of the write in progress; committed as one revision. */
  private pending: WatchEvent[] | undefined;

  get revision(): number {
    return this.rev;
  }

  get compactRevision(): number {
    return this.compactRev;
  }

  get(key: string): KeyValue | undefined {
    return this.kvs.get(key);
  }

  list(prefix: string): ListResult {
    const kvs: KeyValue[] = [];
    for (const key of this.index.withPrefix(prefix)) kvs.push(this.kvs.get(key)!);
    return { kvs, revision: this.rev };
  }

  put(key: string, value: Buffer, leaseId?: string): number {
    return this.write(() => this.applyPut(key, value, leaseId));
  }

  delete(key: string): number {
    let n = 0;
    this.write(() => (n = this.applyDelete(key)));
    return n;
  }

  deletePrefix(prefix: string): number {
    let n = 0;
    this.write(() => (n = this.applyDeletePrefix(prefix)));
    return n;
  }

  txn(txn: Txn): TxnResult {
    // Check every lease first: etcd refuses the whole transaction before writing anything.
    const succeeded = (txn.compare ?? []).every((c) => this.holds(c));
    const ops = (succeeded ? txn.success : txn.failure) ?? [];
    for (const op of ops) if (op.type === "put" && op.lease) this.requireLease(op.lease.id);
    const revision = this.write(() => {
      for (const op of ops) this.applyOp(op);
    });
    return { succeeded, revision };
  }

  compact(revision: number): void {
    if (!Number.isInteger(revision) || revision < 1) throw new RangeError(`kvstore compact: revision must be a positive integer (got ${revision})`);
    if (revision <= this.compactRev) {
      throw new CompactedError(`kvstore compact: revision ${revision} is already compacted (compacted up to ${this.compactRev})`, this.compactRev);
    }
    if (revision > this.rev) throw new RangeError(`kvstore compact: revision ${revision} is in the future (current revision ${this.rev})`);
    this.compactRev = revision;
    const keep = firstAtOrAfter(this.history, revision);
    this.history.splice(0, keep);
  }

  /**
   * Registers a watcher and hands it, synchronously, the history from `fromRevision` on; later
   * revisions follow as they are written. Throws CompactedError when that history is gone.
   */
  watch(prefix: string, sink: WatchSink, fromRevision?: number): () => void {
    if (fromRevision !== undefined && fromRevision > 0) {
      if (fromRevision < this.compactRev) {
        throw new CompactedError(`kvstore watch: revision ${fromRevision} is compacted (oldest available ${this.compactRev})`, this.compactRev);
      }
      for (let i = firstAtOrAfter(this.history, fromRevision); i < this.history.length; i++) {
        const entry = this.history[i]!;
        const events = matching(entry.events, prefix);
        if (events.length) sink.deliver(events, entry.revision);
      }
    }
    const watcher: Watcher = { prefix, sink, fromRevision: fromRevision ?? 0 };
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  grantLease(ttlSeconds: number, onExpired: (reason: string) => void): string {
    const id = String(++this.leaseSeq);
    this.leases.set(id, { id, ttlSeconds, keys: new Set(), onExpired, timer: undefined });
    return id;
  }

  hasLease(id: string): boolean {
    return this.leases.has(id);
  }

  /** Its owner stopped keeping the lease alive (client closed): it expires after its TTL. */
  releaseLease(id: string): void {
    const lease = this.leases.get(id);
    if (!lease || lease.timer) return;
    lease.onExpired = undefined;
    lease.timer = setTimeout(() => this.endLease(id, `lease ${id} expired after its TTL of ${lease.ttlSeconds} s`), lease.ttlSeconds * 1000);
    // A 15-minute lease must not keep a test process alive.
    lease.timer.unref();
  }

  /** Revoked by its owner: keys go, no loss is reported. Returns false if it was already gone. */
  revokeLease(id: string): boolean {
    const lease = this.leases.get(id);
    if (!lease) return false;
    lease.onExpired = undefined;
    this.endLease(id, "revoked");
    return true;
  }

  /** Ends the lease now as if its TTL ran out (or someone else revoked it). */
  expireLease(id: string): boolean {
    if (!this.leases.has(id)) return false;
    this.endLease(id, `lease ${id} expired`);
    return true;
  }

  private endLease(id: string, reason: string): void {
    const lease = this.leases.get(id);
    if (!lease) return;
    this.leases.delete(id);
    clearTimeout(lease.timer);
    // etcd deletes a lease's keys in one transaction: one revision for all of them.
    this.write(() => {
      for (const key of [...lease.keys].sort(compareKeys)) this.applyDelete(key);
    });
    lease.onExpired?.(reason);
  }

  private requireLease(id: string): LeaseRecord {
    const lease = this.leases.get(id);
    if (!lease) throw new LeaseLostError(`kvstore: lease ${id} is expired or revoked; grant a new lease and write the keys again`);
    return lease;
  }

  private holds(c: Compare): boolean {
    const kv = this.kvs.get(c.key);
    if (c.target === "value") {
      // As etcd: a value compare on a missing key never holds, whatever the operator.
      if (!kv) return false;
      return test(Buffer.compare(kv.value, valueBytes(c.value as string | Uint8Array)), c.op);
    }
    const actual = !kv ? 0 : c.target === "version" ? kv.version : c.target === "createRevision" ? kv.createRevision : kv.modRevision;
    return test(actual - (c.value as number), c.op);
  }

  private applyOp(op: TxnOp): void {
    if (op.type === "put") this.applyPut(op.key, Buffer.from(valueBytes(op.value)), op.lease?.id);
    else if (op.type === "delete") this.applyDelete(op.key);
    else this.applyDeletePrefix(op.prefix);
  }

  /** Runs `fn` as one write; if it changed anything the revision advances once. */
  private write(fn: () => void): number {
    const outer = this.pending === undefined;
    if (outer) this.pending = [];
    try {
      fn();
    } catch (e) {
      if (outer) this.pending = undefined;
      throw e;
    }
    if (!outer) return this.rev + 1;
    const events = this.pending!;
    this.pending = undefined;
    if (events.length === 0) return this.rev;
    this.rev++;
    this.history.push({ revision: this.rev, events });
    for (const w of this.watchers) {
      if (this.rev < w.fromRevision) continue;
      const mine = matching(events, w.prefix);
      if (mine.length) w.sink.deliver(mine, this.rev);
    }
    return this.rev;
  }

  private applyPut(key: string, value: Buffer, leaseId: string | undefined): void {
    const lease = leaseId !== undefined ? this.requireLease(leaseId) : undefined;
    const revision = this.rev + 1;
    const old = this.kvs.get(key);
    if (old?.leaseId !== undefined && old.leaseId !== leaseId) this.leases.get(old.leaseId)?.keys.delete(key);
    const kv: KeyValue = {
      key,
      value,
      createRevision: old ? old.createRevision : revision,
      modRevision: revision,
      version: old ? old.version + 1 : 1,
      ...(leaseId !== undefined ? { leaseId } : {}),
    };
    this.kvs.set(key, kv);
    if (!old) this.index.add(key);
    lease?.keys.add(key);
    this.pending!.push({ type: "put", kv });
  }

  private applyDelete(key: string): number {
    const old = this.kvs.get(key);
    if (!old) return 0;
    this.kvs.delete(key);
    this.index.delete(key);
    if (old.leaseId !== undefined) this.leases.get(old.leaseId)?.keys.delete(key);
    this.pending!.push({ type: "delete", key, modRevision: this.rev + 1 });
    return 1;
  }

  private applyDeletePrefix(prefix: string): number {
    const keys = [...this.index.withPrefix(prefix)];
    for (const key of keys) this.applyDelete(key);
    return keys.length;
  }
}

function test(diff: number, op: Compare["op"]): boolean {
  switch (op) {
    case "==":
      return diff === 0;
    case "!=":
      return diff !== 0;
    case "<":
      return diff < 0;
    case ">":
      return diff > 0;
  }
}

function matching(events: WatchEvent[], prefix: string): WatchEvent[] {
  if (prefix === "") return events.slice();
  return events.filter((e) => (e.type === "put" ? e.kv.key : e.key).startsWith(prefix));
}

function firstAtOrAfter(history: readonly HistoryEntry[], revision: number): number {
  let lo = 0;
  let hi = history.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (history[mid]!.revision < revision) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
