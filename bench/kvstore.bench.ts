import { Etcd3 } from "etcd3";
import { EtcdStore } from "../src/kvstore/etcd-store.js";
import { MAX_TXN_OPS, type KvStore, type TxnOp } from "../src/kvstore/kvstore.js";
import { MemoryStore } from "../src/kvstore/memory-store.js";
import { EtcdProcess } from "../src/kvstore/testing/etcd-process.js";
import { fmt, percentile, type BenchOptions, type BenchSection } from "./section.js";

/**
 * kvstore benchmark: (a) put throughput of 100,000 ipcache-like records for MemoryStore and
 * EtcdStore, bulk (transactions of MAX_TXN_OPS puts) and single puts; (b) put-to-watch-event
 * latency at a paced rate for MemoryStore, EtcdStore and, against the same etcd in the same run,
 * the raw etcd3 client, so the cost of our layer over etcd3 is a ratio (target: within 10%).
 */

const IP_PREFIX = "cilium/state/ip/v1/default/";
/** Transactions in flight during bulk loads into etcd. */
const BULK_IN_FLIGHT = 4;
/** Single puts in flight: enough to saturate etcd rather than measure one round trip. */
const SINGLE_IN_FLIGHT = 32;
const LATENCY_RATE_PER_S = 1000;

function ipOf(i: number): string {
  return `100.${64 + ((i >> 16) & 63)}.${(i >> 8) & 255}.${i & 255}`;
}

/** An ipcache entry as Cilium writes it, about 200 bytes of JSON. */
function ipcacheValue(i: number): string {
  return JSON.stringify({
    IP: ipOf(i),
    Mask: null,
    HostIP: `198.18.1.${10 + (i % 200)}`,
    ID: 65536 + (i % 50_000),
    Key: 0,
    Metadata: `cilium-global:default:node-${i % 200}:${i}`,
    K8sNamespace: "default",
    K8sPodName: `app-${(i * 2654435761) % 1e9}`,
    NamedPorts: null,
  });
}

interface Throughput {
  readonly store: string;
  readonly mode: string;
  readonly records: number;
  readonly seconds: number;
}

async function bulkLoad(store: KvStore, n: number, inFlight: number): Promise<number> {
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const from = next;
      next = Math.min(n, next + MAX_TXN_OPS);
      const ops: TxnOp[] = [];
      for (let i = from; i < next; i++) ops.push({ type: "put", key: IP_PREFIX + ipOf(i), value: ipcacheValue(i) });
      await store.txn({ success: ops });
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return (performance.now() - started) / 1000;
}

async function singlePuts(put: (key: string, value: string) => Promise<unknown>, n: number, inFlight: number, offset: number): Promise<number> {
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = offset + next++;
      await put(IP_PREFIX + ipOf(i), ipcacheValue(i));
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return (performance.now() - started) / 1000;
}

/** Something that can put a key and report when a watch sees it. */
interface LatencyClient {
  readonly name: string;
  /** Starts watching `prefix`; `seen(key)` is called on each put event. */
  watch(prefix: string, seen: (key: string) => void): Promise<() => Promise<void>>;
  put(key: string, value: string): Promise<unknown>;
}

function ourClient(name: string, store: KvStore): LatencyClient {
  return {
    name,
    async watch(prefix, seen) {
      const w = store.watch(prefix, {
        onEvents: (events) => {
          for (const e of events) if (e.type === "put") seen(e.kv.key);
        },
        onError: (e) => {
          throw e;
        },
      });
      await w.ready;
      return () => w.cancel();
    },
    put: (key, value) => store.put(key, value),
  };
}

function rawClient(client: Etcd3): LatencyClient {
  return {
    name: "raw etcd3",
    async watch(prefix, seen) {
      const watcher = await client.watch().prefix(prefix).create();
      watcher.on("put", (kv) => seen(kv.key.toString()));
      return () => watcher.cancel();
    },
    put: (key, value) => client.put(key).value(value).exec(),
  };
}

/** Paced puts under one prefix; returns each put's latency until the watch delivered it (ms). */
async function paced(client: LatencyClient, prefix: string, count: number): Promise<number[]> {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let allSeen!: () => void;
  const done = new Promise<void>((resolve) => (allSeen = resolve));
  const stop = await client.watch(prefix, (key) => {
    const t = sentAt.get(key);
    if (t === undefined) return;
    latencies.push(performance.now() - t);
    sentAt.delete(key);
    if (latencies.length === count) allSeen();
  });
  const intervalMs = 1000 / LATENCY_RATE_PER_S;
  const start = performance.now();
  const puts: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const due = start + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const key = `${prefix}${i}`;
    sentAt.set(key, performance.now());
    puts.push(client.put(key, ipcacheValue(i)));
  }
  await Promise.all(puts);
  const timeout = setTimeout(() => allSeen(), 30_000);
  await done;
  clearTimeout(timeout);
  await stop();
  if (latencies.length < count) throw new Error(`${client.name}: only ${latencies.length} of ${count} watch events arrived`);
  return latencies;
}

/** Runs the clients in alternating rounds so that drift in etcd's state hits all of them alike. */
async function compareLatency(clients: LatencyClient[], total: number, rounds: number): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>(clients.map((c) => [c.name, []]));
  const perRound = Math.ceil(total / rounds);
  for (let r = 0; r < rounds; r++) {
    for (const c of r % 2 === 0 ? clients : [...clients].reverse()) {
      const samples = await paced(c, `bench/latency/${c.name.replace(/\W+/g, "-")}/${r}/`, perRound);
      out.get(c.name)!.push(...samples);
    }
  }
  return out;
}

export async function run(options: BenchOptions): Promise<BenchSection> {
  const n = Math.max(1000, Math.round(100_000 * options.scale));
  const nSingle = Math.max(500, Math.round(10_000 * options.scale));
  const nLatency = Math.max(300, Math.round(3000 * options.scale));
  const throughput: Throughput[] = [];

  const memory = new MemoryStore();
  throughput.push({ store: "MemoryStore", mode: `txn of ${MAX_TXN_OPS}`, records: n, seconds: await bulkLoad(memory, n, 1) });
  let started = performance.now();
  const memList = await memory.list(IP_PREFIX);
  const memListMs = performance.now() - started;
  throughput.push({ store: "MemoryStore", mode: "single put, 1 in flight", records: n, seconds: await singlePuts((k, v) => memory.put(k, v), n, 1, n) });

  const etcd = await EtcdProcess.start({ extraArgs: ["--quota-backend-bytes=4294967296"] });
  const store = new EtcdStore(etcd.config());
  const raw = new Etcd3({ hosts: etcd.endpoint });
  try {
    throughput.push({ store: "EtcdStore", mode: `txn of ${MAX_TXN_OPS}, ${BULK_IN_FLIGHT} in flight`, records: n, seconds: await bulkLoad(store, n, BULK_IN_FLIGHT) });
    started = performance.now();
    const etcdList = await store.list(IP_PREFIX);
    const etcdListMs = performance.now() - started;
    // Ours and raw etcd3 alternate in rounds, after a warm-up, so etcd's growing state weighs on both alike.
    const putOurs = (k: string, v: string) => store.put(k, v);
    const putRaw = (k: string, v: string) => raw.put(k).value(v).exec();
    await singlePuts(putOurs, 200, SINGLE_IN_FLIGHT, 2 * n);
    await singlePuts(putRaw, 200, SINGLE_IN_FLIGHT, 2 * n + 200);
    const singleSeconds = { ours: 0, raw: 0 };
    const perRound = Math.ceil(nSingle / 4);
    // Each writes keys of its own, so both create keys rather than one updating the other's.
    for (let r = 0; r < 4; r++) {
      singleSeconds.ours += await singlePuts(putOurs, perRound, SINGLE_IN_FLIGHT, n + 2 * r * perRound);
      singleSeconds.raw += await singlePuts(putRaw, perRound, SINGLE_IN_FLIGHT, n + (2 * r + 1) * perRound);
    }
    throughput.push({ store: "EtcdStore", mode: `single put, ${SINGLE_IN_FLIGHT} in flight`, records: perRound * 4, seconds: singleSeconds.ours });
    throughput.push({ store: "raw etcd3", mode: `single put, ${SINGLE_IN_FLIGHT} in flight`, records: perRound * 4, seconds: singleSeconds.raw });

    const memLatency = (await compareLatency([ourClient("MemoryStore", memory)], nLatency, 1)).get("MemoryStore")!;
    const etcdLatency = await compareLatency([ourClient("EtcdStore", store), rawClient(raw)], nLatency, 4);

    const stat = (samples: number[]) => {
      const sorted = [...samples].sort((a, b) => a - b);
      return { count: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1]! };
    };
    const lat = [
      { name: "MemoryStore", ...stat(memLatency) },
      { name: "EtcdStore", ...stat(etcdLatency.get("EtcdStore")!) },
      { name: "raw etcd3 (put + watch)", ...stat(etcdLatency.get("raw etcd3")!) },
    ];
    const ours = lat[1]!;
    const base = lat[2]!;
    const p50Ratio = ours.p50 / base.p50;
    const p99Ratio = ours.p99 / base.p99;
    const withinTarget = p50Ratio <= 1.1;

    const lines = [
      `Records are ipcache entries (\`${IP_PREFIX}<ip>\`, ${Buffer.byteLength(ipcacheValue(12345))}-byte JSON values); N = ${n} (scale ${options.scale}).`,
      `etcd ${"3.4"} runs locally (Debian's binary, one member, data in a temporary directory) on a ${"2"}-core machine.`,
      "",
      "**Put throughput**",
      "",
      "| store | how | records | seconds | records/s |",
      "| --- | --- | ---: | ---: | ---: |",
      ...throughput.map((t) => `| ${t.store} | ${t.mode} | ${t.records} | ${fmt(t.seconds)} | ${fmt(t.records / t.seconds, 0)} |`),
      "",
      `Listing all ${n} records: MemoryStore ${fmt(memListMs, 0)} ms (${memList.kvs.length} keys), EtcdStore ${fmt(etcdListMs, 0)} ms (${etcdList.kvs.length} keys, pages of 5,000 at one revision).`,
      "",
      `**Put-to-watch-event latency** at ${LATENCY_RATE_PER_S} puts/s (EtcdStore and raw etcd3 alternate in 4 rounds against the same etcd)`,
      "",
      "| client | puts | p50 ms | p99 ms | max ms |",
      "| --- | ---: | ---: | ---: | ---: |",
      ...lat.map((l) => `| ${l.name} | ${l.count} | ${fmt(l.p50, 3)} | ${fmt(l.p99, 3)} | ${fmt(l.max, 1)} |`),
      "",
      `EtcdStore / raw etcd3: p50 ×${fmt(p50Ratio)}, p99 ×${fmt(p99Ratio)}; single-put throughput ×${fmt(singleSeconds.raw / singleSeconds.ours)}.`,
      "",
      `**Verdict:** ${withinTarget ? "meets" : "misses"} the target of staying within 10% of the raw etcd3 client at p50 (×${fmt(p50Ratio)}).` +
        ` Bulk loads in transactions of ${MAX_TXN_OPS} write ${fmt(throughput[2]!.records / throughput[2]!.seconds / (throughput[3]!.records / throughput[3]!.seconds), 1)}× faster than single puts.`,
    ];
    return { title: "kvstore: put throughput and put-to-watch latency", markdown: lines.join("\n") };
  } finally {
    raw.close();
    await store.close();
    await memory.close();
    await etcd.cleanup();
  }
}
