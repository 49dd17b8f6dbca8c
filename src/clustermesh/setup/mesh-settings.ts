import { DEFAULT_CERT_VALIDITY_DAYS } from "../../install/tls-auto.js";
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
  /**
   * clustermesh.apiserver.tls.auto.method ("helm", "cronJob" or "certmanager"): the operator renews
   * the mesh's certificates before they expire. Absent: nothing is renewed automatically.
   */
  readonly tlsAutoMethod?: string;
  /** clustermesh.apiserver.tls.auto.certValidityDuration: the life of certificates issued for the mesh, in days (default 1095). */
  readonly certValidityDays?: number;
}

export const MESH_SERVICE = { namespace: "kube-system", name: "clustermesh-apiserver", nodePort: 32379, port: 2379 } as const;

/** How long certificates issued for the mesh live, in days. */
export function certValidityDaysOf(s: Pick<MeshSettings, "certValidityDays"> | undefined): number {
  return s?.certValidityDays ?? DEFAULT_CERT_VALIDITY_DAYS;
}

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
