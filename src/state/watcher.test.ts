import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryStore } from "../kvstore/memory-store.js";
import { decodeIpcache, encodeIpcache, ipcacheKey, type IpcacheEntry } from "./index.js";
import { RecordWatcher, type RecordEvent } from "./watcher.js";

async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const entry = (ip: string, identity: number) => encodeIpcache({ ip, identity, hostIp: "198.18.2.11", k8sNamespace: "default", k8sPodName: `p-${ip}` });

test("typed events, refused records counted by reason, synced only after the canary", async (t) => {
  const store = new MemoryStore();
  const events: RecordEvent<IpcacheEntry>[] = [];
  await store.put(ipcacheKey("100.66.0.5"), entry("100.66.0.5", 131_330));
  await store.put(ipcacheKey("100.66.0.6"), "{not json");
  const w = new RecordWatcher<IpcacheEntry>(store, {
    prefix: "cilium/state/ip/v1/",
    decode: (k, v) => decodeIpcache(k, v),
    onEvent: (e) => events.push(e),
    canaryKey: "cilium/synced/cluster-2/cilium/state/ip/v1",
  });
  t.after(async () => {
    await w.stop();
    await store.close();
  });
  await until(() => events.length >= 1, "first record");
  assert.deepEqual(events.map((e) => e.type), ["upsert"]);
  assert.equal(w.synced, false, "listed, but the peer has not written its canary yet");
  assert.equal(w.rejections().get("malformed-json"), 1);

  await store.put("cilium/synced/cluster-2/cilium/state/ip/v1", "2026-11-23T00:00:00Z");
  await until(() => w.synced, "synced");

  await store.put(ipcacheKey("100.66.0.7"), entry("100.66.0.7", 131_331));
  await store.delete(ipcacheKey("100.66.0.5"));
  await until(() => events.length === 4, "upsert + delete");
  const del = events[3]!;
  assert.equal(del.type, "delete");
  assert.equal(del.type === "delete" && del.previous?.identity, 131_330, "deletions carry the last known record");

  // A malformed update of a known key drops that key instead of keeping a stale value.
  await store.put(ipcacheKey("100.66.0.7"), JSON.stringify({ IP: "not-an-ip", ID: 5 }));
  await until(() => events.length === 5, "forced delete");
  assert.equal(events[4]!.type, "delete");
  assert.equal(w.size, 0);
});
