import { randomInt } from "node:crypto";
import type { IdentityRange } from "../cluster/index.js";
import type { KvStore, Lease } from "../kvstore/kvstore.js";
import type { Logger } from "../log/logger.js";
import { decodeIdentity, encodeIdentity, encodeIdentityReference, type IdentityRecord } from "../state/identity.js";
import { identityKey, identityValueKey } from "../state/keys.js";
import { formatLabelList, type Label } from "../state/labels.js";
import { RecordWatcher } from "../state/watcher.js";

export class IdentityExhaustedError extends Error {
  constructor(range: IdentityRange, tries: number) {
    super(`no free security identity in ${range.first}..${range.last} after ${tries} attempts; delete unused identities or check for a runaway label set`);
    this.name = "IdentityExhaustedError";
  }
}

/**
 * Allocates security identities the way Cilium's kvstore allocator does, so that every node of a
 * cluster agrees: the identity is the key `cilium/state/identities/v1/id/<id>` holding the sorted
 * label string; a node using it holds a reference `.../value/<labels>/<node>` bound to its lease.
 * Two pods with the same labels, on any node, get the same number. A new number is claimed with a
 * compare-and-swap on "the id key does not exist yet", so two nodes racing cannot both win it.
 */
export class IdentityAllocator {
  private readonly byLabels = new Map<string, number>();
  private readonly byId = new Map<number, readonly Label[]>();
  private readonly listeners: (() => void)[] = [];
  private readonly watcher: RecordWatcher<IdentityRecord>;
  private readonly inFlight = new Map<string, Promise<number>>();

  constructor(
    private readonly store: KvStore,
    private readonly range: IdentityRange,
    /** Cilium suffixes references with the node's IP. */
    private readonly nodeSuffix: string,
    private readonly leaseProvider: () => Promise<Lease>,
    private readonly logger?: Logger,
  ) {
    this.watcher = new RecordWatcher(store, {
      prefix: "cilium/state/identities/v1/id/",
      decode: (k, v) => decodeIdentity(k, v),
      onEvent: (e) => {
        if (e.type === "upsert") {
          this.byLabels.set(formatLabelList(e.record.labels), e.record.id);
          this.byId.set(e.record.id, e.record.labels);
        } else if (e.type === "delete" && e.previous) {
          const l = formatLabelList(e.previous.labels);
          if (this.byLabels.get(l) === e.previous.id) this.byLabels.delete(l);
          this.byId.delete(e.previous.id);
        }
        if (e.type !== "synced") for (const l of this.listeners) l();
      },
      logger,
    });
  }

  async ready(): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (!this.watcher.synced) {
      if (Date.now() > deadline) throw new Error("identity cache did not sync within 30 s; is the kvstore reachable?");
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Every identity of the cluster as the watcher last saw it: number -> labels (a live view). */
  known(): ReadonlyMap<number, readonly Label[]> {
    return this.byId;
  }

  /** Called after each identity the watcher sees appear, change or go. */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  lookup(labels: readonly Label[]): number | undefined {
    return this.byLabels.get(formatLabelList(labels));
  }

  /** Returns the identity for these labels, allocating one if none exists, and holds a reference. */
  allocate(labels: readonly Label[]): Promise<number> {
    const list = formatLabelList(labels);
    let p = this.inFlight.get(list);
    if (!p) {
      p = this.allocateList(list, labels).finally(() => this.inFlight.delete(list));
      this.inFlight.set(list, p);
    }
    return p;
  }

  /** Drops this node's reference (the id key stays: other nodes or clusters may still use it). */
  async release(labels: readonly Label[]): Promise<void> {
    await this.store.delete(identityValueKey(formatLabelList(labels), this.nodeSuffix));
  }

  async stop(): Promise<void> {
    await this.watcher.stop();
  }

  private async allocateList(list: string, labels: readonly Label[]): Promise<number> {
    const lease = await this.leaseProvider();
    const refKey = identityValueKey(list, this.nodeSuffix);
    for (let attempt = 0; attempt < 64; attempt++) {
      const known = this.byLabels.get(list);
      if (known !== undefined) {
        // Make sure the identity still exists while we take our reference.
        const r = await this.store.txn({
          compare: [{ key: identityKey(known), target: "value", op: "==", value: list }],
          success: [{ type: "put", key: refKey, value: encodeIdentityReference(known), lease }],
        });
        if (r.succeeded) return known;
        this.byLabels.delete(list);
        continue;
      }
      // A stored identity we have not seen yet would make us allocate a duplicate: look first.
      const existing = await this.findStored(list);
      if (existing !== undefined) {
        this.byLabels.set(list, existing);
        continue;
      }
      const id = this.range.first + randomInt(0, this.range.last - this.range.first + 1);
      const r = await this.store.txn({
        compare: [{ key: identityKey(id), target: "createRevision", op: "==", value: 0 }],
        success: [
          { type: "put", key: identityKey(id), value: encodeIdentity({ id, labels }) },
          { type: "put", key: refKey, value: encodeIdentityReference(id), lease },
        ],
      });
      if (r.succeeded) {
        this.byLabels.set(list, id);
        this.logger?.info({ identity: id, labels: list }, "allocated security identity");
        return id;
      }
    }
    throw new IdentityExhaustedError(this.range, 64);
  }

  private async findStored(list: string): Promise<number | undefined> {
    const { kvs } = await this.store.list("cilium/state/identities/v1/id/");
    for (const kv of kvs) {
      const r = decodeIdentity(kv.key, kv.value);
      if (r.ok && formatLabelList(r.record.labels) === list) return r.record.id;
    }
    return undefined;
  }
}
