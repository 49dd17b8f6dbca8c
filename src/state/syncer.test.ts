import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryStore } from "../kvstore/memory-store.js";
import { Syncer } from "./syncer.js";

async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test("writes the initial set in batched transactions under one lease, then the canary", async (t) => {
  const store = new MemoryStore();
  const s = new Syncer(store, { canaryKey: "cilium/synced/c1/cilium/state/ip/v1" });
  t.after(async () => {
    await s.stop();
    await store.close();
  });
  for (let i = 0; i < 300; i++) s.upsert(`cilium/state/ip/v1/default/100.65.0.${i % 256}-${i}`, `{"n":${i}}`);
  s.start();
  assert.equal((await store.get("cilium/synced/c1/cilium/state/ip/v1")) === undefined, true, "no canary before the initial set is declared");
  s.markInitialSyncDone();
  await s.flushed();
  const { kvs } = await store.list("cilium/state/ip/v1/");
  assert.equal(kvs.length, 300);
  const leases = new Set(kvs.map((kv) => kv.leaseId));
  assert.equal(leases.size, 1, "all records share one lease");
  assert.ok([...leases][0]);
  const canary = await store.get("cilium/synced/c1/cilium/state/ip/v1");
  assert.ok(canary, "canary written");
  assert.ok(canary.modRevision > Math.max(...kvs.map((kv) => kv.modRevision)), "canary comes after every record");
  assert.equal(s.getStats().transactions, 3, "300 records in 3 transactions of at most 128");
});

test("upserts and deletes are applied; unchanged values are not rewritten", async (t) => {
  const store = new MemoryStore();
  const s = new Syncer(store);
  t.after(async () => {
    await s.stop();
    await store.close();
  });
  s.start();
  s.upsert("k/a", "1");
  s.upsert("k/b", "1");
  await s.flushed();
  const rev = await store.revision();
  s.upsert("k/a", "1");
  await s.flushed();
  assert.equal(await store.revision(), rev, "same value: no write");
  s.upsert("k/a", "2");
  s.delete("k/b");
  await s.flushed();
  assert.equal((await store.get("k/a"))?.value.toString(), "2");
  assert.equal(await store.get("k/b"), undefined);
});

test("a lost lease means every owned record and the canary are written again", async (t) => {
  const store = new MemoryStore();
  const s = new Syncer(store, { canaryKey: "canary" });
  t.after(async () => {
    await s.stop();
    await store.close();
  });
  s.upsert("k/a", "1");
  s.upsert("k/b", "2");
  s.markInitialSyncDone();
  s.start();
  await s.flushed();
  const before = (await store.get("k/a"))!.leaseId!;
  assert.ok(store.expireLease(before));
  assert.equal((await store.list("k/")).kvs.length, 0, "expiry removed the keys");
  await until(async () => (await store.list("k/")).kvs.length === 2 && (await store.get("canary")) !== undefined, "records rewritten");
  const after = (await store.get("k/a"))!.leaseId!;
  assert.notEqual(after, before, "under a new lease");
  assert.equal(s.getStats().leaseRenewals, 1);
});

test("stop with revoke removes everything at once", async () => {
  const store = new MemoryStore();
  const s = new Syncer(store);
  s.start();
  s.upsert("k/a", "1");
  await s.flushed();
  await s.stop({ revoke: true });
  assert.equal((await store.list("k/")).kvs.length, 0);
  await store.close();
});

test("failed writes are retried with backoff and nothing is lost", async (t) => {
  const store = new MemoryStore();
  const { UnreachableError } = await import("../kvstore/errors.js");
  let failures = 3;
  const flaky = Object.create(store) as MemoryStore;
  flaky.txn = async (txn) => {
    if (failures-- > 0) throw new UnreachableError("etcd is down");
    return store.txn(txn);
  };
  const s = new Syncer(flaky, { minBackoffMs: 5, maxBackoffMs: 20 });
  t.after(async () => {
    await s.stop();
    await store.close();
  });
  s.start();
  s.upsert("k/a", "1");
  await s.flushed();
  assert.equal((await store.get("k/a"))?.value.toString(), "1");
  assert.equal(s.getStats().errors, 3);
});
