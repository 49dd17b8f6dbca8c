import type { KvStore } from "../../kvstore/kvstore.js";
import { keys } from "../../resources/keys.js";

export type MeshServiceType = "LoadBalancer" | "NodePort" | "ClusterIP";

/** What `clustermesh enable` set up, at `trellis/config/clustermesh`. */
export interface MeshSettings {
  readonly enabled: boolean;
  readonly serviceType: MeshServiceType;
  readonly kvstoremesh: boolean;
  /** The etcd port behind the exposure. */
  readonly port: number;
  /** Seconds after which a disconnected peer's state is dropped; 0 keeps it (Cilium's cacheTTL, off by default). */
  readonly cacheTtlSeconds: number;
  /** tls.auto.method ("cronJob", "helm", ...): certificates are renewed before they expire. */
  readonly tlsAutoMethod?: string;
}

export const MESH_SERVICE = { namespace: "kube-system", name: "clustermesh-apiserver", nodePort: 32379, port: 2379 } as const;

export async function readMeshSettings(store: KvStore): Promise<MeshSettings | undefined> {
  const kv = await store.get(keys.clustermesh());
  return kv ? (JSON.parse(kv.value.toString()) as MeshSettings) : undefined;
}

export async function writeMeshSettings(store: KvStore, s: MeshSettings): Promise<void> {
  await store.put(keys.clustermesh(), JSON.stringify(s));
}

export function parseServiceType(v: string): MeshServiceType {
  const known: MeshServiceType[] = ["LoadBalancer", "NodePort", "ClusterIP"];
  const found = known.find((k) => k.toLowerCase() === v.toLowerCase());
  if (!found) throw new Error(`--service-type must be one of ${known.join(", ")} (got "${v}")`);
  return found;
}
