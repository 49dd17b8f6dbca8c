import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, test } from "node:test";
import { ClosedError, CompactedError, LeaseLostError } from "./errors.js";
import { MAX_TXN_OPS, type KvStore, type Lease, type TxnOp } from "./kvstore.js";
import { WatchRecorder, waitFor } from "./testing/watch-recorder.js";

/**
 * The one conformance suite every KvStore runs (memory-store.test.ts, etcd-store.test.ts): what
 * the layers above rely on, stated once. A store passes only if it behaves as etcd does.
 */

/** What a store under test provides to the suite; one is opened per test and closed after it. */
export interface ContractHarness {
  /** The client under test. Other tests may have written elsewhere: each test works under its own prefix. */
  readonly store: KvStore;
  /** Another client of the same store (as a second process would be). */
  newClient(): Promise<KvStore>;
  /** Ends the lease from outside its owner, as its TTL running out would; onLost must fire. */
  expireLease(lease: Lease): Promise<void>;
  /** Closes every client it made. */
  close(): Promise<void>;
}

export interface ContractOptions {
  /** TTL for tests that wait for a real expiry (etcd's minimum is about 2 s). */
  readonly shortLeaseTtlSeconds?: number;
}

export function describeKvStoreContract(name: string, open: () => Promise<ContractHarness>, options: ContractOptions = {}): void {
  const shortTtl = options.shortLeaseTtlSeconds ?? 2;

  describe(`KvStore contract: ${name}`, () => {
    let h: ContractHarness;
    let s: KvStore;
    /** A prefix of this test's own, so tests against a shared etcd do not see each other. */
    let p: string;

    beforeEach(async () => {
      h = await open();
      s = h.store;
      p = `contract/${randomBytes(4).toString("hex")}/`;
    });
    afterEach(async () => {
      await h.close();
    });

    describe("revisions and versions", () => {
      test("every write advances the store revision by one; reads and no-op deletes do not", async () => {
        const r0 = await s.revision();
        const r1 = await s.put(`${p}a`, "1");
        assert.equal(r1, r0 + 1);
        assert.equal(await s.revision(), r1);
        await s.get(`${p}a`);
        await s.list(p);
        assert.equal(await s.delete(`${p}missing`), 0);
        assert.equal(await s.deletePrefix(`${p}nothing/`), 0);
        assert.equal(await s.revision(), r1, "reads and deletes of nothing must not create a revision");
        const r2 = await s.put(`${p}b`, "2");
        assert.equal(r2, r1 + 1);
      });

      test("a key carries its create revision, last modification revision and version", async () => {
        const r1 = await s.put(`${p}k`, "v1");
        const r2 = await s.put(`${p}k`, "v2");
        const kv = await s.get(`${p}k`);
        assert.ok(kv);
        assert.equal(kv.key, `${p}k`);
        assert.equal(kv.value.toString(), "v2");
        assert.equal(kv.createRevision, r1);
        assert.equal(kv.modRevision, r2);
        assert.equal(kv.version, 2);
        assert.equal(kv.leaseId, undefined);
      });

      test("a deleted and re-created key starts again at version 1", async () => {
        await s.put(`${p}k`, "old");
        await s.put(`${p}k`, "old2");
        const rd = await s.revision();
        assert.equal(await s.delete(`${p}k`), 1);
        assert.equal(await s.revision(), rd + 1);
        assert.equal(await s.get(`${p}k`), undefined);
        const r = await s.put(`${p}k`, "new");
        const kv = await s.get(`${p}k`);
        assert.deepEqual([kv?.version, kv?.createRevision, kv?.modRevision], [1, r, r]);
      });

      test("values are bytes: arbitrary binary and UTF-8 text come back exactly", async () => {
        const binary = Uint8Array.from([0, 255, 128, 10, 0, 7]);
        await s.put(`${p}bin`, binary);
        await s.put(`${p}text`, "grüße ✓");
        assert.deepEqual([...(await s.get(`${p}bin`))!.value], [...binary]);
        assert.equal((await s.get(`${p}text`))!.value.toString("utf8"), "grüße ✓");
        assert.equal(await s.get(`${p}absent`), undefined);
      });

      test("bad input is refused with an error naming the value", async () => {
        await assert.rejects(s.put("", "x"), /key must be a non-empty string \(got ""\)/);
        await assert.rejects(s.get(undefined as unknown as string), /key must be a non-empty string \(got undefined\)/);
        await assert.rejects(s.grantLease(0), /TTL must be a whole number of seconds, at least 1 \(got number 0\)/);
        await assert.rejects(s.compact(-3), /revision must be a positive integer/);
      });
    });

    describe("list", () => {
      test("returns the prefix's keys sorted by key, and the revision of the read", async () => {
        const keys = ["m", "b", "z/1", "a", "b0", "z", "B"];
        for (const k of keys) await s.put(`${p}${k}`, k);
        await s.put(`${p.slice(0, -1)}-sibling`, "outside the prefix");
        const rev = await s.revision();
        const res = await s.list(p);
        assert.deepEqual(
          res.kvs.map((kv) => kv.key.slice(p.length)),
          ["B", "a", "b", "b0", "m", "z", "z/1"],
        );
        assert.equal(res.revision, rev);
        assert.equal(res.kvs.find((kv) => kv.key === `${p}m`)?.value.toString(), "m");
      });

      test("orders keys by their UTF-8 bytes, as etcd does", async () => {
        // U+FF5E sorts before U+1F600 in UTF-8 bytes but after it in UTF-16 code units.
        await s.put(`${p}\u{1F600}`, "emoji");
        await s.put(`${p}\uFF5E`, "fullwidth tilde");
        await s.put(`${p}z`, "ascii");
        const res = await s.list(p);
        assert.deepEqual(res.kvs.map((kv) => kv.value.toString()), ["ascii", "fullwidth tilde", "emoji"]);
      });

      test("an empty prefix has no keys but still a revision", async () => {
        const res = await s.list(`${p}none/`);
        assert.deepEqual(res.kvs, []);
        assert.equal(res.revision, await s.revision());
      });
    });

    describe("deletePrefix", () => {
      test("deletes exactly the keys under the prefix, counts them, in one revision", async () => {
        for (const k of ["x/1", "x/2", "x/3", "y/1"]) await s.put(`${p}${k}`, k);
        const before = await s.revision();
        assert.equal(await s.deletePrefix(`${p}x/`), 3);
        assert.equal(await s.revision(), before + 1);
        assert.deepEqual((await s.list(p)).kvs.map((kv) => kv.key), [`${p}y/1`]);
        assert.equal(await s.deletePrefix(`${p}x/`), 0);
      });
    });

    describe("leases", () => {
      test("a key put with a lease names the lease; revoking the lease deletes its keys in one revision", async () => {
        const lease = await s.grantLease(30);
        assert.ok(lease.ttlSeconds >= 30);
        const lost: Error[] = [];
        lease.onLost((e) => lost.push(e));
        await s.put(`${p}a`, "1", { lease });
        await s.put(`${p}b`, "2", { lease });
        await s.put(`${p}plain`, "3");
        assert.equal((await s.get(`${p}a`))?.leaseId, lease.id);
        const before = await s.revision();
        await lease.revoke();
        assert.equal(await s.revision(), before + 1, "one revision for all of the lease's keys");
        assert.deepEqual((await s.list(p)).kvs.map((kv) => kv.key), [`${p}plain`]);
        assert.equal(lease.lost, true);
        assert.deepEqual(lost, [], "revoking one's own lease is not a loss");
      });

      test("rewriting a key without the lease detaches it from the lease", async () => {
        const lease = await s.grantLease(30);
        await s.put(`${p}k`, "leased", { lease });
        await s.put(`${p}k`, "free");
        await lease.revoke();
        assert.equal((await s.get(`${p}k`))?.value.toString(), "free");
      });

      test("an expired lease deletes its keys, fires onLost once and refuses further puts", async () => {
        const lease = await s.grantLease(30);
        const lost: Error[] = [];
        lease.onLost((e) => lost.push(e));
        await s.put(`${p}a`, "1", { lease });
        await h.expireLease(lease);
        await waitFor("onLost", () => lost.length > 0);
        assert.equal(lost.length, 1);
        assert.ok(lost[0] instanceof LeaseLostError, `onLost got ${lost[0]}`);
        assert.equal(lease.lost, true);
        assert.equal(await s.get(`${p}a`), undefined);
        await assert.rejects(s.put(`${p}b`, "2", { lease }), LeaseLostError);
        await assert.rejects(s.txn({ success: [{ type: "put", key: `${p}c`, value: "3", lease }] }), LeaseLostError);
        assert.equal(await s.get(`${p}c`), undefined, "a refused txn writes nothing");
        const late: Error[] = [];
        lease.onLost((e) => late.push(e));
        await waitFor("a late onLost listener to be told", () => late.length === 1);
      });

      test("closing the owner leaves its leases to expire after their TTL", async () => {
        const owner = await h.newClient();
        const watcher = await h.newClient();
        const lease = await owner.grantLease(shortTtl);
        await owner.put(`${p}a`, "1", { lease });
        const rec = new WatchRecorder();
        const w = watcher.watch(p, rec);
        await w.ready;
        const closedAt = Date.now();
        await owner.close();
        await rec.until("the expiry deletion", (r) => r.events.some((e) => e.type === "delete"), shortTtl * 1000 + 10_000);
        // The last keepalive may have gone out up to a third of the TTL before the close.
        assert.ok(Date.now() - closedAt >= shortTtl * 500, "not at the close, only once the TTL ran out");
        assert.equal(await watcher.get(`${p}a`), undefined);
        await w.cancel();
      });

      test("a lease stays alive past its TTL while its owner is open", async () => {
        const lease = await s.grantLease(shortTtl);
        await s.put(`${p}a`, "1", { lease });
        const until = Date.now() + shortTtl * 1000 + 1500;
        await waitFor(
          "the lease to outlive its TTL",
          async () => {
            assert.equal((await s.get(`${p}a`))?.value.toString(), "1", "the leased key vanished while its owner was open");
            return Date.now() > until;
          },
          shortTtl * 1000 + 5000,
          200,
        );
        assert.equal(lease.lost, false);
        await lease.revoke();
      });
    });

    describe("transactions", () => {
      const cases: { target: "version" | "createRevision" | "modRevision" | "value"; good: (kv: { version: number; createRevision: number; modRevision: number }) => number | string; bad: number | string }[] = [
        { target: "version", good: (kv) => kv.version, bad: 99 },
        { target: "createRevision", good: (kv) => kv.createRevision, bad: 1 },
        { target: "modRevision", good: (kv) => kv.modRevision, bad: 1 },
        { target: "value", good: () => "v2", bad: "stale" },
      ];
      for (const c of cases) {
        test(`compare-and-swap on ${c.target}: success branch when it holds, failure branch when not`, async () => {
          await s.put(`${p}k`, "v1");
          await s.put(`${p}k`, "v2");
          const kv = (await s.get(`${p}k`))!;
          const ok = await s.txn({
            compare: [{ key: `${p}k`, target: c.target, op: "==", value: c.good(kv) }],
            success: [{ type: "put", key: `${p}k`, value: "swapped" }],
            failure: [{ type: "put", key: `${p}failure`, value: "ran" }],
          });
          assert.equal(ok.succeeded, true);
          assert.equal(ok.revision, await s.revision());
          assert.equal((await s.get(`${p}k`))?.value.toString(), "swapped");
          const bad = await s.txn({
            compare: [{ key: `${p}k`, target: c.target, op: "==", value: c.bad }],
            success: [{ type: "put", key: `${p}k`, value: "must not happen" }],
            failure: [{ type: "put", key: `${p}failure`, value: "ran" }],
          });
          assert.equal(bad.succeeded, false);
          assert.equal((await s.get(`${p}k`))?.value.toString(), "swapped");
          assert.equal((await s.get(`${p}failure`))?.value.toString(), "ran");
        });
      }

      test("the operators !=, < and > compare numbers and bytes", async () => {
        await s.put(`${p}k`, "m");
        await s.put(`${p}k`, "m"); // version 2
        const holds = async (target: "version" | "value", op: "!=" | "<" | ">", value: number | string) =>
          (await s.txn({ compare: [{ key: `${p}k`, target, op, value }] })).succeeded;
        assert.equal(await holds("version", "!=", 1), true);
        assert.equal(await holds("version", "!=", 2), false);
        assert.equal(await holds("version", "<", 3), true);
        assert.equal(await holds("version", "<", 2), false);
        assert.equal(await holds("version", ">", 1), true);
        assert.equal(await holds("version", ">", 2), false);
        assert.equal(await holds("value", "<", "n"), true);
        assert.equal(await holds("value", "<", "a"), false);
        assert.equal(await holds("value", ">", "a"), true);
        assert.equal(await holds("value", "!=", "m"), false);
      });

      test("a missing key has version, createRevision and modRevision 0 (create-if-absent)", async () => {
        const create = (value: string) =>
          s.txn({ compare: [{ key: `${p}once`, target: "createRevision", op: "==", value: 0 }], success: [{ type: "put", key: `${p}once`, value }] });
        assert.equal((await create("first")).succeeded, true);
        assert.equal((await create("second")).succeeded, false);
        assert.equal((await s.get(`${p}once`))?.value.toString(), "first");
        const missing = await s.txn({ compare: [{ key: `${p}nope`, target: "version", op: "==", value: 0 }, { key: `${p}nope`, target: "modRevision", op: "==", value: 0 }] });
        assert.equal(missing.succeeded, true);
      });

      test("a value compare on a missing key never holds, whatever the operator", async () => {
        for (const op of ["==", "!=", "<", ">"] as const) {
          const r = await s.txn({ compare: [{ key: `${p}absent`, target: "value", op, value: "x" }] });
          assert.equal(r.succeeded, false, `value ${op} on a missing key`);
        }
      });

      test("all writes of a transaction share one revision and reach a watcher in one delivery", async () => {
        await s.put(`${p}old/1`, "x");
        await s.put(`${p}old/2`, "x");
        await s.put(`${p}single`, "x");
        const rec = new WatchRecorder();
        const w = s.watch(p, rec);
        await w.ready;
        const before = await s.revision();
        const res = await s.txn({
          success: [
            { type: "put", key: `${p}n/1`, value: "a" },
            { type: "put", key: `${p}n/2`, value: "b" },
            { type: "delete", key: `${p}single` },
            { type: "deletePrefix", prefix: `${p}old/` },
          ],
        });
        assert.equal(res.succeeded, true);
        assert.equal(res.revision, before + 1);
        await rec.until("the transaction's events", (r) => r.events.length >= 5);
        assert.equal(rec.batches.length, 1);
        assert.equal(rec.batches[0]!.revision, res.revision);
        assert.deepEqual(rec.described(p).sort(), [`delete old/1@${res.revision}`, `delete old/2@${res.revision}`, `delete single@${res.revision}`, `put n/1=a@${res.revision}`, `put n/2=b@${res.revision}`]);
        for (const kv of (await s.list(`${p}n/`)).kvs) assert.equal(kv.modRevision, res.revision);
        await w.cancel();
      });

      test("a transaction that changes nothing keeps the revision", async () => {
        const before = await s.revision();
        const r = await s.txn({ compare: [{ key: `${p}x`, target: "version", op: "==", value: 5 }], success: [{ type: "put", key: `${p}x`, value: "y" }], failure: [{ type: "delete", key: `${p}x` }] });
        assert.equal(r.succeeded, false);
        assert.equal(r.revision, before);
        assert.equal(await s.revision(), before);
      });

      test(`at most MAX_TXN_OPS (${MAX_TXN_OPS}) operations per branch; duplicate keys refused`, async () => {
        const puts = (n: number): TxnOp[] => Array.from({ length: n }, (_, i) => ({ type: "put", key: `${p}bulk/${i}`, value: String(i) }));
        const full = await s.txn({ success: puts(MAX_TXN_OPS) });
        assert.equal(full.succeeded, true);
        assert.equal((await s.list(`${p}bulk/`)).kvs.length, MAX_TXN_OPS);
        await assert.rejects(s.txn({ success: puts(MAX_TXN_OPS + 1) }), /129 operations in the success branch; at most 128/);
        await assert.rejects(
          s.txn({ success: [{ type: "put", key: `${p}d`, value: "1" }, { type: "put", key: `${p}d`, value: "2" }] }),
          /written twice/,
        );
        await assert.rejects(
          s.txn({ success: [{ type: "deletePrefix", prefix: p }, { type: "put", key: `${p}d`, value: "2" }] }),
          /both put and deleted/,
        );
        assert.equal(await s.get(`${p}d`), undefined);
      });
    });

    describe("watch", () => {
      test("from a revision replays history in order, one call per revision, then follows live", async () => {
        const start = await s.put(`${p}a`, "1");
        await s.put(`${p}b`, "1");
        await s.put(`${p}a`, "2");
        await s.delete(`${p}b`);
        await s.put(`${p.slice(0, -1)}-other`, "not mine");
        const rec = new WatchRecorder();
        const w = s.watch(p, rec, { fromRevision: start });
        await w.ready;
        await rec.until("the replay", (r) => r.events.length >= 4);
        assert.deepEqual(rec.described(p), [`put a=1@${start}`, `put b=1@${start + 1}`, `put a=2@${start + 2}`, `delete b@${start + 3}`]);
        assert.deepEqual(rec.batches.map((b) => b.revision), [start, start + 1, start + 2, start + 3]);
        const put = rec.events[2];
        assert.ok(put?.type === "put");
        assert.deepEqual([put.kv.createRevision, put.kv.version], [start, 2]);
        const live = await s.put(`${p}c`, "live");
        await rec.until("the live put", (r) => r.events.length >= 5);
        assert.equal(rec.described(p)[4], `put c=live@${live}`);
        assert.deepEqual(rec.errors, []);
        await w.cancel();
      });

      test("without a revision, delivers only changes made after the watch started", async () => {
        await s.put(`${p}before`, "x");
        const rec = new WatchRecorder();
        const w = s.watch(p, rec);
        await w.ready;
        const r1 = await s.put(`${p}after`, "y");
        const r2 = await s.delete(`${p}before`).then(() => s.revision());
        await rec.until("two events", (r) => r.events.length >= 2);
        assert.deepEqual(rec.described(p), [`put after=y@${r1}`, `delete before@${r2}`]);
        await w.cancel();
      });

      test("sees writes of other clients and deletions caused by lease expiry and revocation", async () => {
        const other = await h.newClient();
        const rec = new WatchRecorder();
        const w = s.watch(p, rec);
        await w.ready;
        const l1 = await other.grantLease(30);
        const l2 = await other.grantLease(30);
        await other.put(`${p}expiring`, "1", { lease: l1 });
        await other.put(`${p}revoked`, "1", { lease: l2 });
        await h.expireLease(l1);
        await l2.revoke();
        await rec.until("both deletions", (r) => r.events.filter((e) => e.type === "delete").length >= 2);
        const deletes = rec.events.filter((e) => e.type === "delete").map((e) => (e.type === "delete" ? e.key.slice(p.length) : ""));
        assert.deepEqual(deletes, ["expiring", "revoked"]);
        await w.cancel();
      });

      test("from a future revision, delivers nothing before that revision", async () => {
        const now = await s.revision();
        const rec = new WatchRecorder();
        const w = s.watch(p, rec, { fromRevision: now + 3 });
        await w.ready;
        await s.put(`${p}1`, "early");
        await s.put(`${p}2`, "early");
        const third = await s.put(`${p}3`, "on time");
        await rec.until("the first event at or after the revision", (r) => r.events.length > 0);
        assert.deepEqual(rec.described(p), [`put 3=on time@${third}`]);
        assert.equal(third, now + 3);
        await w.cancel();
      });

      test("a cancelled watch delivers nothing more", async () => {
        const rec = new WatchRecorder();
        const w = s.watch(p, rec);
        await w.ready;
        await s.put(`${p}a`, "1");
        await rec.until("the first event", (r) => r.events.length === 1);
        await w.cancel();
        await s.put(`${p}b`, "1");
        // A second watch, started after the write, proves delivery has happened by the time it sees it.
        const probe = new WatchRecorder();
        const w2 = s.watch(p, probe, { fromRevision: await s.revision() });
        await probe.until("the probe event", (r) => r.events.length === 1);
        assert.equal(rec.events.length, 1);
        assert.deepEqual(rec.errors, []);
        await w2.cancel();
      });

      test("after compaction, watching from an older revision fails with CompactedError", async () => {
        const old = await s.put(`${p}a`, "1");
        await s.put(`${p}a`, "2");
        const current = await s.put(`${p}a`, "3");
        await s.compact(current);
        const rec = new WatchRecorder();
        s.watch(p, rec, { fromRevision: old });
        await rec.until("an error", (r) => r.errors.length > 0);
        const err = rec.errors[0];
        assert.ok(err instanceof CompactedError, `got ${err}`);
        assert.ok(err.compactRevision >= current, `compactRevision ${err.compactRevision} >= ${current}`);
        assert.equal(err.retryable, true);
        assert.deepEqual(rec.events, []);
        const ok = new WatchRecorder();
        const w = s.watch(p, ok, { fromRevision: current });
        await ok.until("the event at the compact revision", (r) => r.events.length === 1);
        assert.equal(ok.described(p)[0], `put a=3@${current}`);
        await w.cancel();
        await assert.rejects(s.compact(current), (e: Error) => e instanceof CompactedError && e.compactRevision >= current);
        await assert.rejects(s.compact(current + 1000), /in the future/);
      });
    });

    describe("close", () => {
      test("ends watches with ClosedError and refuses further calls", async () => {
        const client = await h.newClient();
        const rec = new WatchRecorder();
        const w = client.watch(p, rec);
        await w.ready;
        await client.close();
        await rec.until("the watch to end", (r) => r.errors.length > 0);
        assert.ok(rec.errors[0] instanceof ClosedError, `got ${rec.errors[0]}`);
        await assert.rejects(client.put(`${p}x`, "1"), ClosedError);
        await assert.rejects(client.list(p), ClosedError);
        await client.close();
        const late = new WatchRecorder();
        client.watch(p, late);
        await late.until("a watch on a closed store to fail", (r) => r.errors.length > 0);
        assert.ok(late.errors[0] instanceof ClosedError);
        assert.equal(await s.get(`${p}x`), undefined);
      });
    });
  });
}
