import assert from "node:assert/strict";
import { describe, test, type TestContext } from "node:test";
import { EtcdStore } from "./etcd-store.js";
import { CompactedError, UnreachableError } from "./errors.js";
import type { KvStore, ListResult } from "./kvstore.js";
import { listAndWatch, type ListWatchEvent, type ListWatcher } from "./list-watch.js";
import { MemoryStore } from "./memory-store.js";
import { EtcdProcess } from "./testing/etcd-process.js";
import { waitFor } from "./testing/watch-recorder.js";

/** Records what a consumer of the helper sees, as short text. */
function consumer(prefix: string) {
  const seen: string[] = [];
  const onEvent = (e: ListWatchEvent) =>
    seen.push(e.type === "upsert" ? `upsert ${e.kv.key.slice(prefix.length)}=${e.kv.value.toString()}` : e.type === "delete" ? `delete ${e.key.slice(prefix.length)}` : "synced");
  return { seen, onEvent };
}

function started(t: TestContext, store: KvStore, prefix: string, onEvent: (e: ListWatchEvent) => void, options = {}): ListWatcher {
  const lw = listAndWatch(store, prefix, onEvent, { logger: silent, ...options });
  t.after(() => lw.stop());
  return lw;
}

const silent = { info() {}, warn() {}, error() {} } as unknown as NonNullable<Parameters<typeof listAndWatch>[3]>["logger"];

/** A MemoryStore whose next list() runs a hook before answering: the gap between a list and its watch. */
class GapStore extends MemoryStore {
  beforeListReturns: (() => Promise<void>) | undefined;
  override async list(prefix: string): Promise<ListResult> {
    const res = await super.list(prefix);
    const hook = this.beforeListReturns;
    this.beforeListReturns = undefined;
    await hook?.();
    return res;
  }
}

describe("listAndWatch with MemoryStore", () => {
  test("lists, marks synced, then follows puts and deletes", async (t) => {
    const store = new MemoryStore();
    t.after(() => store.close());
    await store.put("p/a", "1");
    await store.put("p/b", "1");
    await store.put("other", "x");
    const c = consumer("p/");
    const lw = started(t, store, "p/", c.onEvent);
    await lw.waitSynced();
    assert.deepEqual(c.seen, ["upsert a=1", "upsert b=1", "synced"]);
    await store.put("p/c", "1");
    await store.delete("p/a");
    await store.put("p/b", "2");
    await waitFor("three live events", () => c.seen.length === 6);
    assert.deepEqual(c.seen.slice(3), ["upsert c=1", "delete a", "upsert b=2"]);
    assert.equal(lw.stats.revision, await store.revision());
    assert.deepEqual([lw.stats.relists, lw.stats.errors], [0, 0]);
  });

  test("a compaction between list and watch forces a relist that reports the key deleted in the gap", async (t) => {
    const store = new GapStore();
    t.after(() => store.close());
    for (const k of ["a", "b", "c", "d"]) await store.put(`p/${k}`, "1");
    const errors: Error[] = [];
    // Between the first listing and its watch: delete a, change b, add e, then compact everything.
    store.beforeListReturns = async () => {
      await store.delete("p/a");
      await store.put("p/b", "2");
      await store.put("p/e", "1");
      await store.compact(await store.revision());
    };
    const c = consumer("p/");
    const lw = started(t, store, "p/", c.onEvent, { initialBackoffMs: 10, onError: (e: Error) => errors.push(e) });
    await waitFor("the relist", () => lw.stats.relists === 1 && c.seen.includes("delete a"));
    assert.ok(errors[0] instanceof CompactedError, `the watch failed with ${errors[0]}`);
    assert.deepEqual(c.seen, [
      // first listing, as it was
      "upsert a=1",
      "upsert b=1",
      "upsert c=1",
      "upsert d=1",
      "synced",
      // the relist: changed and new keys, the vanished one; c and d unchanged, not repeated
      "upsert b=2",
      "upsert e=1",
      "delete a",
    ]);
    await store.put("p/f", "1");
    await waitFor("the watch to work after the relist", () => c.seen.at(-1) === "upsert f=1");
    assert.equal(lw.stats.errors, 1);
  });

  test("stop() ends it: no more events, and closing the store stops it without counting an error", async (t) => {
    const store = new MemoryStore();
    const c = consumer("p/");
    const lw = started(t, store, "p/", c.onEvent);
    await lw.waitSynced();
    await lw.stop();
    await store.put("p/x", "1");
    const probe = consumer("p/");
    const other = started(t, store, "p/", probe.onEvent);
    await waitFor("another watcher to see the write", () => probe.seen.includes("upsert x=1"));
    assert.deepEqual(c.seen, ["synced"]);
    assert.equal(other.running, true);
    await store.close();
    await waitFor("the helper to stop by itself on the closed store", () => !other.running);
    assert.equal(other.stats.errors, 0);
  });

  test("a list that fails is retried with backoff until it succeeds", async (t) => {
    class FlakyStore extends MemoryStore {
      failures = 2;
      override async list(prefix: string): Promise<ListResult> {
        if (this.failures-- > 0) throw new UnreachableError("etcd is down (test)");
        return super.list(prefix);
      }
    }
    const store = new FlakyStore();
    t.after(() => store.close());
    await store.put("p/a", "1");
    const c = consumer("p/");
    const lw = started(t, store, "p/", c.onEvent, { initialBackoffMs: 5 });
    await lw.waitSynced();
    assert.deepEqual(c.seen, ["upsert a=1", "synced"]);
    assert.deepEqual([lw.stats.errors, lw.stats.relists], [2, 0]);
    assert.ok(lw.stats.lastError instanceof UnreachableError);
  });

  test("a consumer that throws does not stop the events", async (t) => {
    const store = new MemoryStore();
    t.after(() => store.close());
    const seen: string[] = [];
    const lw = started(t, store, "p/", (e) => {
      if (e.type === "upsert" && e.kv.key === "p/bad") throw new Error("consumer bug");
      if (e.type === "upsert") seen.push(e.kv.key);
    });
    await lw.waitSynced();
    await store.put("p/bad", "1");
    await store.put("p/good", "1");
    await waitFor("the event after the throw", () => seen.includes("p/good"));
  });
});

describe("listAndWatch with a real etcd that goes away", () => {
  test("keys deleted and changed while etcd was down and the helper reconnecting are reported", async (t) => {
    const etcd = await EtcdProcess.start();
    t.after(() => etcd.cleanup());
    const writer = new EtcdStore(etcd.config());
    const helperStore = new EtcdStore(etcd.config());
    t.after(() => writer.close());
    t.after(() => helperStore.close());
    for (const k of ["a", "b", "c", "d"]) await writer.put(`p/${k}`, "1");
    const c = consumer("p/");
    // A long first backoff keeps the helper away while etcd restarts and the writer changes keys.
    const lw = started(t, helperStore, "p/", c.onEvent, { initialBackoffMs: 6000 });
    await lw.waitSynced();
    assert.deepEqual(c.seen, ["upsert a=1", "upsert b=1", "upsert c=1", "upsert d=1", "synced"]);

    await etcd.kill();
    await waitFor("the helper to see the watch break", () => lw.stats.errors >= 1, 5000);
    await etcd.restart();
    await writer.delete("p/a");
    await writer.put("p/b", "2");
    await writer.put("p/e", "1");
    assert.equal(lw.stats.relists, 0, "the changes were made while the helper was still backing off");

    await waitFor("the relist", () => c.seen.includes("delete a"), 15_000, 50);
    assert.deepEqual(c.seen.slice(5).sort(), ["delete a", "upsert b=2", "upsert e=1"]);
    assert.ok(lw.stats.relists >= 1);
    await writer.put("p/f", "1");
    await waitFor("live events after the relist", () => c.seen.at(-1) === "upsert f=1");
  });

  test("a compaction past the helper's revision while it is disconnected is recovered by a relist", async (t) => {
    const etcd = await EtcdProcess.start();
    t.after(() => etcd.cleanup());
    const writer = new EtcdStore(etcd.config());
    const helperStore = new EtcdStore(etcd.config());
    t.after(() => writer.close());
    t.after(() => helperStore.close());
    for (const k of ["a", "b", "c"]) await writer.put(`p/${k}`, "1");
    const c = consumer("p/");
    const errors: Error[] = [];
    const lw = started(t, helperStore, "p/", c.onEvent, { initialBackoffMs: 6000, onError: (e: Error) => errors.push(e) });
    await lw.waitSynced();
    const helperRevision = lw.stats.revision;

    await etcd.kill();
    await waitFor("the helper to see the watch break", () => lw.stats.errors >= 1, 5000);
    await etcd.restart();
    await writer.delete("p/c");
    for (let i = 0; i < 5; i++) await writer.put("p/a", `v${i}`);
    const compactedTo = await writer.revision();
    await writer.compact(compactedTo);
    assert.equal(lw.stats.relists, 0, "all of this happened while the helper was still backing off");
    // The helper's own revision is gone from etcd's history: resuming the watch cannot work.
    await assert.rejects(
      new Promise((_, reject) => writer.watch("p/", { onEvents: () => undefined, onError: reject }, { fromRevision: helperRevision + 1 })),
      CompactedError,
    );

    await waitFor("the relist", () => c.seen.includes("delete c"), 15_000, 50);
    assert.deepEqual(c.seen.slice(4).sort(), ["delete c", "upsert a=v4"]);
    assert.ok(lw.stats.relists >= 1);
    assert.ok(lw.stats.revision >= compactedTo);
    assert.equal(errors[0]?.name, "UnreachableError");
  });
});
