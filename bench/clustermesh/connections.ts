/**
 * How many client connections each cluster's etcd serves in a mesh of 3 clusters × N nodes, with
 * and without KVStoreMesh, counted on the server side: ESTABLISHED TCP sockets whose local port
 * is the etcd's client port (`ss -Htn state established '( sport = :PORT )'`). Every reader is
 * built for real in this process, one etcd client each as separate agents would have; the
 * readers are added in steps and each step's increase is what that step connected.
 *
 * In one process gRPC shares a TCP connection between clients whose target, options and
 * credentials are equal. Insecure credentials are all equal (four plain-http clients of one etcd
 * make one connection); TLS credentials are equal only when they are the same object, and each
 * etcd client builds its own, so with TLS every client has its own connection, as across hosts.
 */
import { globalAgent as httpGlobalAgent } from "node:http";
import { globalAgent as httpsGlobalAgent } from "node:https";
import { nodeEntry } from "../../src/clustermesh/testing/index.js";
import { EtcdStore } from "../../src/kvstore/index.js";
import { run } from "../../src/util/exec.js";
import type { MeshCluster } from "./mesh-cluster.js";
import { cacheReader, directReader, startKvStoreMesh, type MeshReader, type RunningKvStoreMesh } from "./mesh-readers.js";

/** Lines of `ss -Htn state established` output whose local address has port `port`. */
export function serverSideConnections(ssOutput: string, port: number): number {
  let n = 0;
  for (const line of ssOutput.split("\n")) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 4) continue;
    // Recv-Q Send-Q Local:Port Peer:Port (the state column is left out when a state is asked for).
    if (cols[2]!.endsWith(`:${port}`)) n++;
  }
  return n;
}

export async function establishedOnPort(port: number): Promise<number> {
  const out = await run("ss", ["-Htn", "state", "established", `( sport = :${port} )`]);
  return serverSideConnections(out.stdout, port);
}

/** Counts for each port once two samples in a row agree (connections settle after a reader is ready). */
export async function settledCounts(ports: readonly number[], timeoutMs = 5_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let last = await Promise.all(ports.map(establishedOnPort));
  for (;;) {
    await new Promise((r) => setTimeout(r, 300));
    const now = await Promise.all(ports.map(establishedOnPort));
    if (now.every((n, i) => n === last[i]) || Date.now() > deadline) return now;
    last = now;
  }
}

export interface ConnectionRow {
  readonly cluster: string;
  /** Before any reader: what etcd and this process hold anyway (0 once health probes are closed). */
  readonly baseline: number;
  readonly direct: {
    /** Agents of the other clusters, each reading this etcd directly. */
    readonly fromPeers: number;
    readonly total: number;
  };
  readonly kvstoremesh: {
    /** This cluster's KVStoreMesh writing its cache. */
    readonly ownKvStoreMesh: number;
    /** The other clusters' KVStoreMesh reading this cluster's state. */
    readonly peersKvStoreMesh: number;
    /** This cluster's agents reading the cache. */
    readonly ownAgents: number;
    readonly total: number;
  };
}

export interface ConnectionResult {
  readonly nodesPerCluster: number;
  readonly rows: readonly ConnectionRow[];
}

const others = (clusters: readonly MeshCluster[], c: MeshCluster) => clusters.filter((o) => o !== c);

async function stopAll(items: readonly { stop(): Promise<void> }[]): Promise<void> {
  const results = await Promise.allSettled(items.map((i) => i.stop()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}

/**
 * Builds the mesh of `clusters` (already running) twice over, with `nodesPerCluster` agents per
 * cluster: first every agent reading the other clusters' etcds directly, then each cluster's
 * KVStoreMesh plus agents reading the local cache.
 */
export async function measureConnections(clusters: readonly MeshCluster[], nodesPerCluster: number): Promise<ConnectionResult> {
  if (!Number.isInteger(nodesPerCluster) || nodesPerCluster < 1) throw new Error(`nodes per cluster must be a positive integer, got ${nodesPerCluster}`);
  const ports = clusters.map((c) => c.clientPort);
  for (const c of clusters) {
    const admin = new EtcdStore(c.admin);
    try {
      for (let n = 1; n <= nodesPerCluster; n++) {
        const e = nodeEntry(c.info, n);
        await admin.put(e.key, e.value);
      }
    } finally {
      await admin.close();
    }
  }
  // EtcdProcess's readiness probes leave keep-alive HTTPS connections to each etcd for a while.
  httpsGlobalAgent.destroy();
  httpGlobalAgent.destroy();
  const baseline = await settledCounts(ports);

  const readers: MeshReader[] = [];
  let direct: number[];
  try {
    for (const c of clusters) for (let n = 0; n < nodesPerCluster; n++) readers.push(await directReader(c, others(clusters, c)));
    await Promise.all(readers.map((r) => r.ready()));
    direct = await settledCounts(ports);
  } finally {
    await stopAll(readers.splice(0));
  }
  const afterDirect = await settledCounts(ports);
  if (afterDirect.some((n, i) => n !== baseline[i])) throw new Error(`direct readers stopped, but etcds still serve ${afterDirect.join("/")} connections (baseline ${baseline.join("/")})`);

  const meshes: RunningKvStoreMesh[] = [];
  const localStores: EtcdStore[] = [];
  let withStores: number[], withKvStoreMesh: number[], withAgents: number[];
  try {
    // KVStoreMesh's own client of the local etcd, opened first so that it is told apart from its peers'.
    for (const c of clusters) {
      const store = new EtcdStore(c.admin);
      localStores.push(store);
      await store.get("cilium/.heartbeat");
    }
    withStores = await settledCounts(ports);
    for (const [i, c] of clusters.entries()) meshes.push(await startKvStoreMesh(c, others(clusters, c), localStores[i]));
    await Promise.all(meshes.map((m) => m.ready()));
    withKvStoreMesh = await settledCounts(ports);
    for (const c of clusters) for (let n = 0; n < nodesPerCluster; n++) readers.push(await cacheReader(c, others(clusters, c)));
    await Promise.all(readers.map((r) => r.ready()));
    withAgents = await settledCounts(ports);
  } finally {
    await stopAll(readers.splice(0));
    // Stopping a KvStoreMesh closes the local store it was given; close those of any not started.
    await stopAll(meshes);
    await Promise.all(localStores.slice(meshes.length).map((s) => s.close()));
  }

  return {
    nodesPerCluster,
    rows: clusters.map((c, i) => ({
      cluster: c.info.name,
      baseline: baseline[i]!,
      direct: { fromPeers: direct[i]! - baseline[i]!, total: direct[i]! },
      kvstoremesh: {
        ownKvStoreMesh: withStores[i]! - baseline[i]!,
        peersKvStoreMesh: withKvStoreMesh[i]! - withStores[i]!,
        ownAgents: withAgents[i]! - withKvStoreMesh[i]!,
        total: withAgents[i]!,
      },
    })),
  };
}
