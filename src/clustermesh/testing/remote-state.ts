import { identityRangeOf, type MaxConnectedClusters } from "../../cluster/index.js";
import type { KvStore } from "../../kvstore/index.js";
import {
  POLICY_CLUSTER_LABEL,
  POD_NAMESPACE_LABEL,
  clusterConfigKey,
  encodeClusterConfig,
  encodeClusterService,
  encodeIdentity,
  encodeIpcache,
  encodeNode,
  identityKey,
  ipcacheKey,
  nodeKey,
  serviceKey,
  syncCanaryKeyOf,
} from "../../state/index.js";
import { MESH_KINDS, STATE_KIND, type MeshKind, type MeshRecords, type PerKind } from "../kinds.js";
import type { ClusterMeshHandlers } from "../cluster-mesh.js";
import type { RemoteStateHandlers } from "../remote-cluster.js";

/**
 * Test helpers that play a remote cluster: its cluster config, canaries and records as its own
 * operator and agents would write them (with the state layer's encoders), and a consumer that
 * records what a RemoteCluster or ClusterMesh reports.
 */

export interface FakeCluster {
  readonly name: string;
  readonly id: number;
  readonly maxConnectedClusters?: MaxConnectedClusters;
}

export async function publishClusterConfig(store: KvStore, c: FakeCluster, options: { syncedCanaries?: boolean } = {}): Promise<void> {
  const capabilities = { syncedCanaries: options.syncedCanaries ?? true, cached: false, ...(c.maxConnectedClusters ? { maxConnectedClusters: c.maxConnectedClusters } : {}) };
  await store.put(clusterConfigKey(c.name), encodeClusterConfig({ cluster: c.name, id: c.id, capabilities }));
}

export async function publishCanaries(store: KvStore, c: FakeCluster, kinds: readonly MeshKind[] = MESH_KINDS): Promise<void> {
  for (const kind of kinds) await store.put(syncCanaryKeyOf(STATE_KIND[kind], c.name), "2026-01-02T03:04:05Z");
}

/** The n-th identity cluster `c` allocates. */
export function identityOf(c: FakeCluster, n: number): number {
  return identityRangeOf(c.id, c.maxConnectedClusters ?? 255).first + n;
}

export function nodeEntry(c: FakeCluster, n: number): { key: string; value: string } {
  return {
    key: nodeKey(c.name, `node-${n}`),
    value: encodeNode({
      name: `node-${n}`,
      cluster: c.name,
      clusterId: c.id,
      ipAddresses: [{ type: "InternalIP", ip: `198.18.${c.id}.${10 + n}` }],
      ipv4AllocCidr: `100.${64 + c.id}.${n}.0/24`,
      ipv4HealthIp: `100.${64 + c.id}.${n}.2`,
    }),
  };
}

export function identityEntry(c: FakeCluster, n: number): { key: string; value: string } {
  const id = identityOf(c, n);
  return {
    key: identityKey(id),
    value: encodeIdentity({
      id,
      labels: [
        { source: "k8s", key: "app", value: `app-${n}` },
        { source: "k8s", key: POLICY_CLUSTER_LABEL, value: c.name },
        { source: "k8s", key: POD_NAMESPACE_LABEL, value: "default" },
      ],
    }),
  };
}

export function endpointEntry(c: FakeCluster, n: number, identity = identityOf(c, 1)): { key: string; value: string } {
  const ip = `100.${64 + c.id}.1.${10 + n}`;
  return { key: ipcacheKey(ip), value: encodeIpcache({ ip, identity, hostIp: `198.18.${c.id}.11`, k8sNamespace: "default", k8sPodName: `pod-${n}` }) };
}

export function serviceEntry(c: FakeCluster, name: string): { key: string; value: string } {
  return {
    key: serviceKey(c.name, "default", name),
    value: encodeClusterService({
      cluster: c.name,
      namespace: "default",
      name,
      clusterId: c.id,
      frontends: { [`198.19.${c.id}.10`]: { http: { protocol: "TCP", port: 80 } } },
      backends: { [`100.${64 + c.id}.1.11`]: { http: { protocol: "TCP", port: 8080 } } },
      shared: true,
      includeExternal: true,
    }),
  };
}

/** A small cluster: one node, one identity, one endpoint, one service, config and canaries. */
export async function publishCluster(store: KvStore, c: FakeCluster, options: { canaries?: boolean } = {}): Promise<void> {
  await publishClusterConfig(store, c);
  for (const e of [nodeEntry(c, 1), identityEntry(c, 1), endpointEntry(c, 1), serviceEntry(c, "web")]) await store.put(e.key, e.value);
  if (options.canaries ?? true) await publishCanaries(store, c);
}

/** Records a consumer's view: events as text ("upsert nodes c2/node-1") and the records held per kind. */
export class StateRecorder {
  readonly events: string[] = [];
  readonly held: PerKind<Map<string, unknown>> = { nodes: new Map(), endpoints: new Map(), identities: new Map(), services: new Map() };

  /** Handlers for one RemoteCluster. */
  get handlers(): RemoteStateHandlers {
    return this.make("");
  }

  /** Handlers for a ClusterMesh: events and keys carry the cluster's name. */
  get meshHandlers(): ClusterMeshHandlers {
    const out: Record<string, unknown> = {};
    for (const kind of MESH_KINDS) {
      out[kind] = {
        upsert: (cluster: string, record: unknown, key: string) => this.record("upsert", kind, `${cluster}:`, key, record),
        delete: (cluster: string, record: unknown, key: string) => this.record("delete", kind, `${cluster}:`, key, record),
      };
    }
    return out as ClusterMeshHandlers;
  }

  count(kind: MeshKind): number {
    return this.held[kind].size;
  }

  get<K extends MeshKind>(kind: K, key: string): MeshRecords[K] | undefined {
    return this.held[kind].get(key) as MeshRecords[K] | undefined;
  }

  total(): number {
    return MESH_KINDS.reduce((n, k) => n + this.held[k].size, 0);
  }

  private make(prefix: string): RemoteStateHandlers {
    const out: Record<string, unknown> = {};
    for (const kind of MESH_KINDS) {
      out[kind] = {
        upsert: (record: unknown, key: string) => this.record("upsert", kind, prefix, key, record),
        delete: (record: unknown, key: string) => this.record("delete", kind, prefix, key, record),
      };
    }
    return out as RemoteStateHandlers;
  }

  private record(op: "upsert" | "delete", kind: MeshKind, prefix: string, key: string, record: unknown): void {
    this.events.push(`${op} ${kind} ${prefix}${shortKey(key)}`);
    if (op === "upsert") this.held[kind].set(prefix + key, record);
    else this.held[kind].delete(prefix + key);
  }
}

/** The part of a key after its kind's prefix: "c2/node-1", "65537", "100.65.1.11", "c2/default/web". */
function shortKey(key: string): string {
  return key.replace(/^cilium\/(state|cache)\/(nodes|services)\/v1\//, "").replace(/^cilium\/(state|cache)\/identities\/v1\/(?:[^/]+\/)?id\//, "").replace(/^cilium\/state\/ip\/v1\/default\//, "").replace(/^cilium\/cache\/ip\/v1\/[^/]+\//, "");
}
