/**
 * The one kvstore interface every layer above talks to. Two implementations share its semantics,
 * revisions and leases included: etcd (etcd-store.ts) and in-memory (memory-store.ts). Both run the
 * same contract suite (contract.ts).
 *
 * Semantics follow etcd v3: one global, strictly increasing revision per store; every successful
 * write (put, delete that removed something, transaction with writes) creates exactly one new
 * revision; `modRevision` is the revision of a key's last write, `createRevision` of its creation.
 * Keys are UTF-8 strings; values are bytes, so that a record can be copied byte for byte.
 */
export interface KeyValue {
  readonly key: string;
  readonly value: Buffer;
  readonly createRevision: number;
  readonly modRevision: number;
  /** Number of writes since creation (1 after the first put). */
  readonly version: number;
  /** Lease the key is bound to, if any. */
  readonly leaseId?: string;
}

export type Value = string | Uint8Array;

export interface ListResult {
  /** Sorted by key. */
  readonly kvs: KeyValue[];
  /** The store's revision at the time of the read: watch from revision + 1 to miss nothing. */
  readonly revision: number;
}

export interface PutOptions {
  /** Bind the key to this lease: it is deleted when the lease expires or is revoked. */
  readonly lease?: Lease;
}

export type CompareTarget = "value" | "version" | "createRevision" | "modRevision";
export type CompareOp = "==" | "!=" | "<" | ">";

export interface Compare {
  readonly key: string;
  readonly target: CompareTarget;
  readonly op: CompareOp;
  /** A Value for target "value", a number for the others. A missing key has version, createRevision and modRevision 0. */
  readonly value: Value | number;
}

export type TxnOp =
  | { readonly type: "put"; readonly key: string; readonly value: Value; readonly lease?: Lease }
  | { readonly type: "delete"; readonly key: string }
  | { readonly type: "deletePrefix"; readonly prefix: string };

export interface Txn {
  /** All must hold for `success` to run; otherwise `failure` runs. An empty list always holds. */
  readonly compare?: readonly Compare[];
  readonly success?: readonly TxnOp[];
  readonly failure?: readonly TxnOp[];
}

export interface TxnResult {
  readonly succeeded: boolean;
  /** Store revision after the transaction. */
  readonly revision: number;
}

/** Most operations a single transaction may carry (etcd's default --max-txn-ops). */
export const MAX_TXN_OPS = 128;

export interface Lease {
  readonly id: string;
  readonly ttlSeconds: number;
  /** True once the lease expired, was revoked, or keepalives failed past its TTL. */
  readonly lost: boolean;
  /**
   * Called once when the lease is lost (not when revoked by its owner). Keys bound to it are
   * gone; the owner grants a new lease and writes them again. Returns an unsubscribe function.
   */
  onLost(listener: (error: Error) => void): () => void;
  /** Deletes every key bound to the lease and stops keepalives. */
  revoke(): Promise<void>;
}

export type WatchEvent =
  | { readonly type: "put"; readonly kv: KeyValue }
  | { readonly type: "delete"; readonly key: string; readonly modRevision: number };

export interface WatchOptions {
  /** First revision to deliver; default: only changes after the watch starts. */
  readonly fromRevision?: number;
}

export interface WatchHandlers {
  /** Events arrive in revision order; all events of one revision arrive in one call. */
  onEvents(events: WatchEvent[], revision: number): void;
  /**
   * The watch has ended and delivers nothing more: CompactedError when fromRevision is gone,
   * UnreachableError when the connection broke, or another KvError. Re-list and watch again
   * (list-watch.ts does this for you).
   */
  onError(error: Error): void;
}

export interface Watch {
  /**
   * Resolves once the store has accepted the watch, or once the watch has ended before that
   * (onError says why). Never rejects.
   */
  readonly ready: Promise<void>;
  cancel(): Promise<void>;
}

export interface KvStore {
  get(key: string): Promise<KeyValue | undefined>;
  list(prefix: string): Promise<ListResult>;
  /** Returns the revision of the write. */
  put(key: string, value: Value, options?: PutOptions): Promise<number>;
  /** Returns how many keys were deleted (0 or 1). */
  delete(key: string): Promise<number>;
  /** Returns how many keys were deleted. */
  deletePrefix(prefix: string): Promise<number>;
  /** At most MAX_TXN_OPS operations per branch. */
  txn(txn: Txn): Promise<TxnResult>;
  /** A lease kept alive by this client until revoked, lost, or the client is closed. */
  grantLease(ttlSeconds: number): Promise<Lease>;
  watch(prefix: string, handlers: WatchHandlers, options?: WatchOptions): Watch;
  /** Discards history before `revision`; watches from older revisions then fail with CompactedError. */
  compact(revision: number): Promise<void>;
  /** Current store revision. */
  revision(): Promise<number>;
  /** Stops keepalives and watches and releases connections. Leases are left to expire. */
  close(): Promise<void>;
}
