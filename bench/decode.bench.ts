import { cpus, loadavg } from "node:os";
import { validateClusterInfo } from "../src/cluster/index.js";
import { decodeIpcache, decodeNode, encodeIpcache, encodeNode, ipcacheEntryKey, nodeRecordKey, type DecodeContext, type DecodeResult } from "../src/state/index.js";
import { fmt, percentile, type BenchOptions, type BenchSection } from "./section.js";

/**
 * Decode throughput of the two records a remote cluster sends most of: ipcache entries (one per
 * pod) and nodes. Values are Buffers, as etcd hands them over, and every record is fully checked
 * against the sending cluster (key match, addresses, identity range), as a watcher of a remote
 * cluster does. One thread, one core; the first passes warm the JIT and are not counted. The load
 * average is reported because other work on the machine shares the core and lowers the figures.
 */

const TARGET_IPCACHE_PER_SECOND = 200_000;
const WARMUP_PASSES = 2;
const TIMED_PASSES = 7;

interface Workload {
  readonly keys: readonly string[];
  readonly values: readonly Buffer[];
}

interface Measurement {
  readonly records: number;
  /** Records per second of each timed pass, sorted ascending. */
  readonly rates: readonly number[];
  readonly bytes: number;
}

const sender = validateClusterInfo({ name: "c3", id: 3 });
const ctx: DecodeContext = { cluster: sender };

function ipcacheWorkload(n: number): Workload {
  const keys: string[] = [];
  const values: Buffer[] = [];
  const first = sender.id * 65536;
  for (let i = 0; i < n; i++) {
    const node = i % 100;
    const entry = {
      ip: `100.${64 + sender.id}.${(i >> 8) & 255}.${i & 255}`,
      hostIp: `198.18.${sender.id}.${10 + node}`,
      identity: first + (i % 5000),
      metadata: `cilium-global:default:node-${node}:${i}`,
      k8sNamespace: `ns-${i % 20}`,
      k8sPodName: `app-${i % 300}-7d9f8b6c5-${i.toString(36)}`,
      namedPorts: i % 4 === 0 ? [{ name: "http", port: 8080, protocol: "TCP" }] : [],
    };
    keys.push(ipcacheEntryKey(entry));
    values.push(Buffer.from(encodeIpcache(entry)));
  }
  return { keys, values };
}

function nodeWorkload(n: number): Workload {
  const keys: string[] = [];
  const values: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const node = {
      name: `node-${i}`,
      cluster: sender.name,
      clusterId: sender.id,
      ipAddresses: [
        { type: "InternalIP" as const, ip: `198.18.${(i >> 8) & 255}.${i & 255}` },
        { type: "CiliumInternalIP" as const, ip: `100.67.${i & 255}.1` },
      ],
      ipv4AllocCidr: `100.67.${i & 255}.0/24`,
      ipv4HealthIp: `100.67.${i & 255}.2`,
      source: "local",
      labels: { "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": `node-${i}`, "topology.kubernetes.io/zone": `lab-${i % 3}` },
      bootId: "4c3b0f2e-5d1a-4f8e-9b7c-2a6d8e1f0c3b",
    };
    keys.push(nodeRecordKey(node));
    values.push(Buffer.from(encodeNode(node)));
  }
  return { keys, values };
}

function measure(work: Workload, decode: (key: string, value: Buffer, ctx: DecodeContext) => DecodeResult<unknown>): Measurement {
  const { keys, values } = work;
  const n = keys.length;
  const pass = (): number => {
    let accepted = 0;
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) if (decode(keys[i]!, values[i]!, ctx).ok) accepted++;
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (accepted !== n) throw new Error(`decode benchmark: ${n - accepted} of ${n} generated records were refused`);
    return n / seconds;
  };
  for (let p = 0; p < WARMUP_PASSES; p++) pass();
  const rates: number[] = [];
  for (let p = 0; p < TIMED_PASSES; p++) rates.push(pass());
  rates.sort((a, b) => a - b);
  return { records: n, rates, bytes: values.reduce((sum, v) => sum + v.length, 0) };
}

function row(name: string, m: Measurement): string {
  const median = percentile(m.rates, 50);
  return `| ${name} | ${m.records.toLocaleString("en-US")} | ${fmt(m.bytes / m.records, 0)} | ${fmt(median, 0)} | ${fmt(m.rates[0]!, 0)} | ${fmt(m.rates[m.rates.length - 1]!, 0)} | ${fmt(1e6 / median, 2)} |`;
}

export async function run(options: BenchOptions): Promise<BenchSection> {
  const n = Math.max(1000, Math.round(100_000 * options.scale));
  const loadBefore = loadavg()[0]!;
  const ipcache = measure(ipcacheWorkload(n), decodeIpcache);
  const nodes = measure(nodeWorkload(n), decodeNode);
  const ipcacheMedian = percentile(ipcache.rates, 50);
  const met = ipcacheMedian >= TARGET_IPCACHE_PER_SECOND;
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const loadAfter = loadavg()[0]!;

  const markdown = [
    `Decoding of kvstore values into typed records (src/state), with every check a remote cluster's`,
    `watcher applies: JSON shape and types, addresses and masks, key match, cluster name and ID, and`,
    `the identity range of the sending cluster (here cluster c3, ID 3, 255-cluster mesh). Values are`,
    `Buffers as etcd returns them; one thread; ${WARMUP_PASSES} warm-up passes, then ${TIMED_PASSES} timed passes over`,
    `${n.toLocaleString("en-US")} distinct records of each kind.`,
    "",
    "| record | records | bytes/record | median records/s | slowest pass | fastest pass | µs/record (median) |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    row("ipcache entry", ipcache),
    row("node", nodes),
    "",
    `Machine: ${cpus().length} × ${cpu}, Node ${process.version}; 1-minute load average ${fmt(loadBefore)} before, ${fmt(loadAfter)} after`,
    `(above 1, other processes shared the core and the figures understate the decoder).`,
    "",
    `Target: at least ${TARGET_IPCACHE_PER_SECOND.toLocaleString("en-US")} ipcache records/s on one core — ` +
      `${met ? "**met**" : "**not met**"} (median ${fmt(ipcacheMedian, 0)}/s).`,
  ].join("\n");

  return { title: "Decoding kvstore records", markdown };
}
