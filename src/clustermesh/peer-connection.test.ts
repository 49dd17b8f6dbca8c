import assert from "node:assert/strict";
import { test } from "node:test";
import { validateClusterInfo } from "../cluster/index.js";
import { MemoryStore, type KvStore } from "../kvstore/index.js";
import { waitFor } from "../kvstore/testing/index.js";
import { subsystemLogger } from "../log/logger.js";
import { PeerConnection } from "./peer-connection.js";
import { publishClusterConfig } from "./testing/remote-state.js";

const local = validateClusterInfo({ name: "cluster-1", id: 1 });
const c2 = { name: "cluster-2", id: 2 };

/** A client of `store` whose reads wait until `open()` is called (a slow new connection). */
function gated(store: MemoryStore): { client: KvStore; open: () => void; asked: () => boolean } {
  let open!: () => void;
  let asked = false;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const client = store.newClient();
  const proxy = new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === "get") {
        return async (key: string) => {
          asked = true;
          await gate;
          return target.get(key);
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { client: proxy, open, asked: () => asked };
}

function connection(connect: () => KvStore | Promise<KvStore>) {
  const log: string[] = [];
  let n = 0;
  const conn = new PeerConnection(
    { name: "cluster-2", local, connect, backoff: { initialMs: 20, maxMs: 100 }, logger: subsystemLogger("test") },
    {
      startSession: (s) => {
        const id = ++n;
        log.push(`start ${id}`);
        void s.store.get("x").then(() => log.push(`session ${id} reads`));
        return { stop: async () => void log.push(`stop ${id}`) };
      },
      refused: () => undefined,
      lost: () => undefined,
      changed: () => undefined,
    },
  );
  return { conn, log };
}

test("a restart keeps the running session until a connection made with the new configuration answers", async (t) => {
  const store = new MemoryStore();
  await publishClusterConfig(store, c2);
  const next: { store?: KvStore } = {};
  const { conn, log } = connection(() => next.store ?? store.newClient());
  t.after(async () => {
    await conn.stop();
    await store.close();
  });
  conn.start();
  await waitFor("first session", () => log.includes("start 1"));

  const slow = gated(store);
  next.store = slow.client;
  conn.restart();
  // The new connection has been asked but has not answered: the first session goes on.
  await waitFor("the new connection tried", () => slow.asked());
  assert.deepEqual(log.filter((l) => l.startsWith("st")), ["start 1"]);
  assert.equal(conn.inSession, true);

  slow.open();
  await waitFor("second session", () => log.includes("start 2"));
  assert.deepEqual(log.filter((l) => l.startsWith("st")), ["start 1", "stop 1", "start 2"]);
  assert.equal(conn.reconnections, 1);
});

test("a new configuration that does not work leaves the working session alone, says why, and is tried again", async (t) => {
  const store = new MemoryStore();
  await publishClusterConfig(store, c2);
  let broken = false;
  let attempts = 0;
  const { conn, log } = connection(() => {
    attempts++;
    if (broken) throw new Error("certificate signed by unknown authority");
    return store.newClient();
  });
  t.after(async () => {
    await conn.stop();
    await store.close();
  });
  conn.start();
  await waitFor("first session", () => log.includes("start 1"));

  broken = true;
  conn.restart();
  await waitFor("the failure reported", () => /new configuration is not used yet \(the current connection stays in use\): certificate signed by unknown authority/.test(conn.lastError ?? ""));
  await waitFor("tried again", () => attempts >= 4);
  assert.equal(conn.inSession, true);
  assert.equal(conn.connected, true);
  assert.deepEqual(log.filter((l) => l.startsWith("st")), ["start 1"], "the working session was never interrupted");

  broken = false;
  await waitFor("moved over once it works", () => log.includes("start 2"));
  assert.deepEqual(log.filter((l) => l.startsWith("st")), ["start 1", "stop 1", "start 2"]);
});

test("stop() during a pending switch does not wait for the new connection", async (t) => {
  const store = new MemoryStore();
  t.after(() => store.close());
  await publishClusterConfig(store, c2);
  const next: { store?: KvStore } = {};
  const { conn, log } = connection(() => next.store ?? store.newClient());
  conn.start();
  await waitFor("first session", () => log.includes("start 1"));
  const slow = gated(store);
  next.store = slow.client;
  conn.restart();
  await waitFor("the new connection tried", () => slow.asked());
  await conn.stop();
  assert.deepEqual(log.filter((l) => l.startsWith("st")), ["start 1", "stop 1"]);
  assert.equal(conn.inSession, false);
});
