import { Etcd3, type IOptions } from "etcd3";
import { ClosedError, CompactedError, UnreachableError, isKvError } from "./errors.js";
import { validateEtcdConfig, type EtcdConfig } from "./etcd-config.js";
import { toKvError } from "./etcd-errors.js";
import { fromEtcdKv, prefixRange, type EtcdKv } from "./etcd-keys.js";
import { EtcdLease, endStream } from "./etcd-lease.js";
import { EtcdWatch } from "./etcd-watch.js";
import type { Compare, KeyValue, KvStore, Lease, ListResult, PutOptions, Txn, TxnOp, TxnResult, Value, Watch, WatchHandlers, WatchOptions } from "./kvstore.js";
import { checkTxn } from "./txn-checks.js";
import { checkKey, checkPrefix, checkTtl, describe, valueBytes } from "./values.js";

export interface EtcdStoreOptions {
  /**
   * Deadline of each request (default 10,000 ms). 0 sets none: requests then wait on a hung etcd
   * until gRPC keepalive gives up on the connection (about 15 s); a deadline costs a timer per call.
   */
  readonly requestTimeoutMs?: number;
  /** Silence on a watch stream after which etcd is probed, and then declared unreachable (default 5,000 ms). */
  readonly watchdogMs?: number;
  /** Keys per page when listing a large prefix (default 5,000). */
  readonly listPageSize?: number;
  /** Told about every request once it has ended (metrics); off by default. Watches are not requests. */
  readonly observe?: (op: KvOperation) => void;
}

export type KvOperationKind = "get" | "list" | "put" | "delete" | "deletePrefix" | "txn" | "grantLease" | "compact" | "revision";

/** One request to etcd, as an observer sees it. */
export interface KvOperation {
  readonly kind: KvOperationKind;
  /** The key or prefix it was about; for a transaction its first key; "" when none. */
  readonly key: string;
  readonly seconds: number;
  readonly ok: boolean;
}

interface Header {
  revision: string;
}

type Policy = NonNullable<NonNullable<IOptions["faultHandling"]>["global"]>;

/**
 * Runs each call exactly once. etcd3's default retries and per-host circuit breaker would retry
 * a transaction whose answer was lost and keep refusing calls for seconds after etcd is back;
 * callers here get a typed error at once and decide (list-watch.ts retries with backoff).
 */
const callOnce = {
  // async: etcd3 calls `execute(fn).catch(...)` with an fn that throws synchronously.
  execute: async <T>(fn: (context: { signal: AbortSignal }) => T | Promise<T>) => fn({ signal: new AbortController().signal }),
} as unknown as Policy;

const COMPARE_TARGET = { value: "Value", version: "Version", createRevision: "Create", modRevision: "Mod" } as const;
const COMPARE_FIELD = { value: "value", version: "version", createRevision: "create_revision", modRevision: "mod_revision" } as const;
const COMPARE_RESULT = { "==": "Equal", "!=": "NotEqual", "<": "Less", ">": "Greater" } as const;

/**
 * The KvStore on a real etcd (v3 API) through the `etcd3` library. Requests, watches and lease
 * keepalives share one gRPC connection per endpoint. Every error leaving this class is one of
 * the kvstore's typed errors (errors.ts) or a plain Error for a malformed request.
 */
export class EtcdStore implements KvStore {
  private readonly client: Etcd3;
  private readonly where: string;
  private readonly watches = new Set<EtcdWatch>();
  private readonly leases = new Set<EtcdLease>();
  private readonly requestTimeoutMs: number;
  private readonly watchdogMs: number;
  private readonly pageSize: number;
  private readonly observe: ((op: KvOperation) => void) | undefined;
  private closed = false;

  constructor(
    readonly config: EtcdConfig,
    options: EtcdStoreOptions = {},
  ) {
    validateEtcdConfig(config);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.watchdogMs = options.watchdogMs ?? 5_000;
    this.pageSize = options.listPageSize ?? 5_000;
    this.observe = options.observe;
    this.where = `etcd ${config.endpoints.join(",")}`;
    const tls = config.tls;
    this.client = new Etcd3({
      hosts: [...config.endpoints],
      ...(tls
        ? {
            credentials: {
              rootCertificate: Buffer.from(tls.ca),
              ...(tls.cert && tls.key ? { certChain: Buffer.from(tls.cert), privateKey: Buffer.from(tls.key) } : {}),
            },
          }
        : {}),
      ...(config.auth ? { auth: { username: config.auth.username, password: config.auth.password } } : {}),
      faultHandling: { global: callOnce, host: () => callOnce },
      defaultCallOptions: (ctx) => (ctx.isStream || this.requestTimeoutMs <= 0 ? {} : { deadline: Date.now() + this.requestTimeoutMs }),
      grpcOptions: {
        // gRPC's default reconnect backoff grows to two minutes; etcd restarts should be seen in seconds.
        "grpc.initial_reconnect_backoff_ms": 200,
        "grpc.max_reconnect_backoff_ms": 2_000,
        // Within etcd's default --grpc-keepalive-min-time (5 s), so etcd does not refuse the pings.
        "grpc.keepalive_time_ms": 10_000,
        "grpc.keepalive_timeout_ms": 5_000,
        // A watch catching up on large transactions can exceed gRPC's 4 MiB default.
        "grpc.max_receive_message_length": 256 * 1024 * 1024,
      },
    });
  }

  /**
   * Creates a store and waits (up to config.dialTimeoutMs, default 5 s) until etcd answers.
   * Rejects at once on refused credentials; with UnreachableError when the time runs out.
   */
  static async connect(config: EtcdConfig, options: EtcdStoreOptions = {}): Promise<EtcdStore> {
    const store = new EtcdStore(config, options);
    const timeoutMs = config.dialTimeoutMs ?? 5_000;
    const deadline = Date.now() + timeoutMs;
    let delay = 50;
    for (;;) {
      try {
        await store.readRevision(deadline);
        return store;
      } catch (e) {
        if (!(e instanceof UnreachableError) || Date.now() + delay > deadline) {
          await store.close();
          if (e instanceof UnreachableError) {
            throw new UnreachableError(`${store.where}: no answer within the dial timeout of ${timeoutMs} ms: ${e.message}`, { cause: e });
          }
          throw e;
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 1000);
      }
    }
  }

  async get(key: string): Promise<KeyValue | undefined> {
    checkKey(key);
    const res = await this.call("get", key, `get ${key}`, () => this.client.kv.range({ key: Buffer.from(key, "utf8") }));
    const kv = (res.kvs as EtcdKv[])[0];
    return kv ? fromEtcdKv(kv) : undefined;
  }

  /**
   * Lists in pages of `listPageSize` keys, all read at the revision of the first page, so a large
   * prefix is one consistent snapshot without one huge gRPC message.
   */
  async list(prefix: string): Promise<ListResult> {
    checkPrefix(prefix);
    const { key, rangeEnd } = prefixRange(prefix);
    const kvs: KeyValue[] = [];
    let revision: number | undefined;
    let start = key;
    for (;;) {
      const pinned = revision;
      const res = await this.call("list", prefix, `list ${prefix}`, () =>
        this.client.kv.range({
          key: start,
          range_end: rangeEnd,
          limit: String(this.pageSize),
          ...(pinned !== undefined ? { revision: String(pinned) } : {}),
        }),
      ).catch((e: unknown) => this.withCompactRevision(e));
      revision ??= Number((res.header as Header).revision);
      const page = res.kvs as EtcdKv[];
      for (const kv of page) kvs.push(fromEtcdKv(kv));
      if (!res.more || page.length === 0) break;
      start = Buffer.concat([page[page.length - 1]!.key, Buffer.from([0])]);
    }
    return { kvs, revision };
  }

  async put(key: string, value: Value, options: PutOptions = {}): Promise<number> {
    checkKey(key);
    const res = await this.call("put", key, `put ${key}`, () =>
      this.client.kv.put({ key: Buffer.from(key, "utf8"), value: valueBytes(value), ...(options.lease ? { lease: options.lease.id } : {}) }),
    );
    return Number((res.header as Header).revision);
  }

  async delete(key: string): Promise<number> {
    checkKey(key);
    const res = await this.call("delete", key, `delete ${key}`, () => this.client.kv.deleteRange({ key: Buffer.from(key, "utf8") }));
    return Number(res.deleted);
  }

  async deletePrefix(prefix: string): Promise<number> {
    checkPrefix(prefix);
    const { key, rangeEnd } = prefixRange(prefix);
    const res = await this.call("deletePrefix", prefix, `delete prefix ${prefix}`, () => this.client.kv.deleteRange({ key, range_end: rangeEnd }));
    return Number(res.deleted);
  }

  async txn(txn: Txn): Promise<TxnResult> {
    checkTxn(txn);
    const res = await this.call("txn", firstKeyOf(txn), "txn", () =>
      this.client.kv.txn({
        compare: (txn.compare ?? []).map(toEtcdCompare),
        success: (txn.success ?? []).map(toEtcdOp),
        failure: (txn.failure ?? []).map(toEtcdOp),
      }),
    );
    return { succeeded: res.succeeded, revision: Number((res.header as Header).revision) };
  }

  async grantLease(ttlSeconds: number): Promise<Lease> {
    checkTtl(ttlSeconds);
    const res = await this.call("grantLease", "", "grant lease", () => this.client.leaseClient.leaseGrant({ TTL: String(ttlSeconds) }));
    if (this.closed) throw new ClosedError(`${this.where}: the store was closed`);
    // etcd raises a TTL below its minimum (about 2 s with default timing) and reports the TTL it chose.
    const lease = new EtcdLease(res.ID, Number(res.TTL), this.client, this.where, (l) => this.leases.delete(l));
    this.leases.add(lease);
    lease.start();
    return lease;
  }

  watch(prefix: string, handlers: WatchHandlers, options: WatchOptions = {}): Watch {
    checkPrefix(prefix);
    const from = options.fromRevision;
    if (from !== undefined && !(Number.isInteger(from) && from >= 0)) {
      throw new TypeError(`kvstore watch: fromRevision must be a non-negative integer (got ${describe(from)})`);
    }
    const watch = new EtcdWatch(this.client, prefix, handlers, from, this.watchdogMs, `${this.where}: watch ${prefix}`, (w) => this.watches.delete(w));
    if (this.closed) {
      queueMicrotask(() => watch.fail(new ClosedError(`${this.where}: the store is closed`)));
      return watch;
    }
    this.watches.add(watch);
    watch.start();
    return watch;
  }

  async compact(revision: number): Promise<void> {
    if (!Number.isInteger(revision) || revision < 1) throw new RangeError(`kvstore compact: revision must be a positive integer (got ${describe(revision)})`);
    try {
      await this.call("compact", "", `compact ${revision}`, () => this.client.kv.compact({ revision: String(revision), physical: false })).catch((e: unknown) => this.withCompactRevision(e));
    } catch (e) {
      if (e instanceof Error && e.message.includes("future revision")) {
        throw new RangeError(`kvstore compact: revision ${revision} is in the future (${this.where} is at ${await this.revision()})`);
      }
      throw e;
    }
  }

  async revision(): Promise<number> {
    return this.readRevision();
  }

  private async readRevision(deadline?: number): Promise<number> {
    const res = await this.call("revision", "", "read revision", () => this.client.kv.range({ key: Buffer.from([0]) }, deadline ? { deadline } : undefined));
    return Number((res.header as Header).revision);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const watch of [...this.watches]) watch.fail(new ClosedError(`${this.where}: the store was closed`));
    for (const lease of [...this.leases]) lease.stop();
    this.client.close();
  }

  /** Rethrows `e`, a CompactedError then carrying etcd's compact revision. */
  private async withCompactRevision(e: unknown): Promise<never> {
    if (e instanceof CompactedError && e.compactRevision === 0) {
      throw new CompactedError(e.message, await this.compactRevision().catch(() => 0), { cause: e.cause });
    }
    throw e;
  }

  /**
   * etcd reports a compacted revision without saying up to where; a watch from revision 1 is
   * cancelled with the compact revision in its answer.
   */
  private async compactRevision(): Promise<number> {
    const stream = await this.client.watchClient.watch();
    try {
      return await new Promise<number>((resolve) => {
        const timer = setTimeout(() => resolve(0), this.requestTimeoutMs);
        stream.on("data", (res: { canceled: boolean; compact_revision: string }) => {
          if (res.canceled) {
            clearTimeout(timer);
            resolve(Number(res.compact_revision));
          }
        });
        stream.on("error", () => resolve(0));
        stream.write({ create_request: { key: Buffer.from([0]), start_revision: "1" } });
      });
    } finally {
      endStream(stream);
    }
  }

  private async call<T>(kind: KvOperationKind, key: string, what: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new ClosedError(`${this.where}: ${what}: the store is closed`);
    const started = this.observe ? performance.now() : 0;
    let ok = false;
    try {
      const result = await fn();
      ok = true;
      return result;
    } catch (e) {
      if (this.closed && !isKvError(e)) throw new ClosedError(`${this.where}: ${what}: the store was closed`, { cause: e });
      throw toKvError(e, `${this.where}: ${what}`);
    } finally {
      if (this.observe) {
        try {
          this.observe({ kind, key, seconds: (performance.now() - started) / 1000, ok });
        } catch {
          // An observer's failure must not turn a request that worked into one that failed.
        }
      }
    }
  }
}

function firstKeyOf(txn: Txn): string {
  const op = txn.compare?.[0] ?? txn.success?.[0] ?? txn.failure?.[0];
  if (op === undefined) return "";
  return "key" in op ? op.key : op.prefix;
}

function toEtcdCompare(c: Compare): Record<string, unknown> {
  const value = c.target === "value" ? valueBytes(c.value as Value) : String(c.value);
  return { key: Buffer.from(c.key, "utf8"), target: COMPARE_TARGET[c.target], result: COMPARE_RESULT[c.op], [COMPARE_FIELD[c.target]]: value };
}

function toEtcdOp(op: TxnOp): Record<string, unknown> {
  switch (op.type) {
    case "put":
      return { request_put: { key: Buffer.from(op.key, "utf8"), value: valueBytes(op.value), ...(op.lease ? { lease: op.lease.id } : {}) } };
    case "delete":
      return { request_delete_range: { key: Buffer.from(op.key, "utf8") } };
    case "deletePrefix": {
      const { key, rangeEnd } = prefixRange(op.prefix);
      return { request_delete_range: { key, range_end: rangeEnd } };
    }
  }
}
