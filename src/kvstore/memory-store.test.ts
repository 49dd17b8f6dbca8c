import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { describeKvStoreContract } from "./contract.js";
import type { KvStore } from "./kvstore.js";
import { MemoryStore } from "./memory-store.js";
import { WatchRecorder } from "./testing/watch-recorder.js";

describeKvStoreContract(
  "MemoryStore",
  async () => {
    const store = new MemoryStore();
    const clients: KvStore[] = [store];
    return {
      store,
      newClient: async () => {
        const c = store.newClient();
        clients.push(c);
        return c;
      },
      expireLease: async (lease) => {
        assert.equal(store.expireLease(lease.id), true, `lease ${lease.id} should be alive`);
      },
      close: async () => {
        for (const c of clients) await c.close();
      },
    };
  },
  { shortLeaseTtlSeconds: 1 },
);

describe("MemoryStore at scale", () => {
  test("100,000 keys written in random order list sorted, and a watch replays them all", async () => {
    const store = new MemoryStore();
    const n = 100_000;
    const keys = Array.from({ length: n }, (_, i) => `cilium/state/ip/v1/default/10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    for (let i = keys.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [keys[i], keys[j]] = [keys[j]!, keys[i]!];
    }
    const value = JSON.stringify({ IP: "10.0.0.1", ID: 12345, Key: 0, Metadata: "cilium-global:default:node1:1", HostIP: "198.18.1.11", K8sNamespace: "default", K8sPodName: "app-7d4b9c-xyz12" });
    const t0 = performance.now();
    for (const k of keys) await store.put(k, value);
    const putMs = performance.now() - t0;
    const t1 = performance.now();
    const res = await store.list("cilium/state/ip/v1/");
    const listMs = performance.now() - t1;
    assert.equal(res.kvs.length, n);
    const sorted = [...keys].sort();
    assert.ok(res.kvs.every((kv, i) => kv.key === sorted[i]), "list is sorted by key");
    assert.equal(res.revision, 1 + n);

    const rec = new WatchRecorder();
    const w = store.watch("cilium/state/ip/", rec, { fromRevision: 2 });
    await rec.until("the whole history", (r) => r.batches.length === n);
    await w.cancel();
    // Figures for the record, and a generous bound that still catches an O(n²) index.
    console.log(`MemoryStore: ${n} puts in ${putMs.toFixed(0)} ms, list of ${n} in ${listMs.toFixed(0)} ms`);
    assert.ok(putMs < 10_000, `100k puts took ${putMs} ms`);
    assert.ok(listMs < 2_000, `listing 100k keys took ${listMs} ms`);
    await store.close();
  });
});

describe("MemoryStore clients", () => {
  test("clients made with newClient share keys, revisions and leases; each closes on its own", async () => {
    const a = new MemoryStore();
    const b = a.newClient();
    const lease = await a.grantLease(60);
    const rev = await a.put("k", "from a", { lease });
    assert.equal((await b.get("k"))?.value.toString(), "from a");
    assert.equal(await b.revision(), rev);
    await b.close();
    assert.equal((await a.get("k"))?.leaseId, lease.id, "closing another client leaves a's lease alone");
    assert.equal(a.expireLease(lease.id), true);
    assert.equal(a.expireLease(lease.id), false, "an expired lease cannot expire twice");
    await a.close();
  });

  test("values written are copied: changing the caller's buffer afterwards changes nothing", async () => {
    const store = new MemoryStore();
    const buf = Buffer.from("original");
    await store.put("k", buf);
    buf.write("XXXXXXXX");
    assert.equal((await store.get("k"))?.value.toString(), "original");
    await store.close();
  });
});
