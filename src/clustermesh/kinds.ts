import {
  cachePrefixOf,
  decodeClusterService,
  decodeIdentity,
  decodeIpcache,
  decodeNode,
  statePrefixOf,
  syncCanaryKeyOf,
  type ClusterServiceRecord,
  type DecodeContext,
  type DecodeResult,
  type IdentityRecord,
  type IpcacheEntry,
  type NodeRecord,
  type StateKind,
} from "../state/index.js";

/**
 * The four kinds of state a cluster shares with the mesh, named as Cilium's clustermesh status
 * names them: ipcache entries are "endpoints" there, and so here.
 */
export type MeshKind = "nodes" | "endpoints" | "identities" | "services";

export const MESH_KINDS: readonly MeshKind[] = ["nodes", "endpoints", "identities", "services"];

export interface MeshRecords {
  nodes: NodeRecord;
  endpoints: IpcacheEntry;
  identities: IdentityRecord;
  services: ClusterServiceRecord;
}

export type PerKind<T> = { [K in MeshKind]: T };

export function perKind<T>(make: (kind: MeshKind) => T): PerKind<T> {
  return { nodes: make("nodes"), endpoints: make("endpoints"), identities: make("identities"), services: make("services") };
}

/** The state layer's name for each kind (its key layout and canary names use it). */
export const STATE_KIND: Readonly<PerKind<StateKind>> = { nodes: "nodes", endpoints: "ip", identities: "identities", services: "services" };

type Decoder<T> = (key: string, value: Buffer, ctx?: DecodeContext) => DecodeResult<T>;

const DECODERS: { readonly [K in MeshKind]: Decoder<MeshRecords[K]> } = {
  nodes: decodeNode,
  endpoints: decodeIpcache,
  identities: decodeIdentity,
  services: decodeClusterService,
};

/** Decodes a record of `kind`; with ctx.cluster it must be that cluster's own (name, ID, identity range). */
export function decodeKind<K extends MeshKind>(kind: K, key: string, value: Buffer, ctx?: DecodeContext): DecodeResult<MeshRecords[K]> {
  return (DECODERS[kind] as Decoder<MeshRecords[K]>)(key, value, ctx);
}

/**
 * Where `peer`'s records of `kind` are read: the peer's own state prefixes, or, when the store is
 * a KVStoreMesh cache (its cluster config says `cached`), that cache's per-cluster prefixes.
 */
export function sourcePrefixOf(kind: MeshKind, peer: string, cached: boolean): string {
  return cached ? cachePrefixOf(STATE_KIND[kind], peer) : statePrefixOf(STATE_KIND[kind], peer);
}

/** The canary that says the writer of `sourcePrefixOf(kind, peer, cached)` has written all of it. */
export function sourceCanaryKeyOf(kind: MeshKind, peer: string, cached: boolean): string {
  return syncCanaryKeyOf(STATE_KIND[kind], peer, cached ? "cache" : "state");
}
