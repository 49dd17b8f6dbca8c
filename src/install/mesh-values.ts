import { readMeshSecret, writeMeshSecret, meshSecretEntries, parseMeshSecret } from "../clustermesh/mesh-secret.js";
import type { PeerConfig } from "../clustermesh/peer-config.js";
import { enableClusterMesh, type MeshHooks } from "../clustermesh/setup/enable.js";
import { parseServiceType } from "../clustermesh/setup/mesh-settings.js";
import type { EtcdStore } from "../kvstore/etcd-store.js";
import type { KeyPairPem } from "../pki/certificates.js";
import { readClusterCa, writeClusterCa } from "./cluster-ca.js";
import { getPath, type Values } from "./helm-set.js";
import { ValuesError } from "./values.js";

export interface MeshValuesContext {
  store: EtcdStore;
  readonly cluster: string;
  readonly controlPlaneIp: string;
  readonly hooks: MeshHooks;
  /**
   * Called when the CA changes (the lab re-keys the cluster). Returns a new client when the old
   * one can no longer reach etcd (its server certificate now chains to the new CA).
   */
  readonly adoptCa: (ca: KeyPairPem) => Promise<EtcdStore | undefined>;
  readonly progress: (line: string) => void;
}

interface ClusterEntry {
  name?: unknown;
  address?: unknown;
  port?: unknown;
  ips?: unknown;
  tls?: { cert?: unknown; key?: unknown; caCert?: unknown };
}

function b64(v: unknown, what: string): string {
  if (typeof v !== "string" || v.trim() === "") throw new ValuesError(`${what} must be a base64 string (copy it from "trellis get secret ... -o yaml")`);
  const text = Buffer.from(v.trim(), "base64").toString("utf8");
  if (!text.includes("-----BEGIN")) throw new ValuesError(`${what} is not base64 of a PEM block; copy the value of the secret's data field as it is`);
  return text;
}

/** clustermesh.config.clusters[] as peers: endpoints from ips (or address) and port, TLS from the values, the CA our own. */
export function peersFromValues(values: Values, localCa: string): PeerConfig[] {
  const list = getPath(values, "clustermesh.config.clusters");
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw new ValuesError("clustermesh.config.clusters must be a list");
  return (list as ClusterEntry[]).map((c, i) => {
    const where = `clustermesh.config.clusters[${i}]`;
    if (typeof c?.name !== "string" || !c.name) throw new ValuesError(`${where}.name is required`);
    const port = c.port ?? 2379;
    if (typeof port !== "number" || port < 1 || port > 65535) throw new ValuesError(`${where}.port must be a port number (got ${JSON.stringify(port)})`);
    const ips = Array.isArray(c.ips) ? c.ips.filter((x): x is string => typeof x === "string" && x !== "") : [];
    const hosts = ips.length ? ips : typeof c.address === "string" && c.address ? [c.address] : [];
    if (!hosts.length) throw new ValuesError(`${where}: give ips (the remote clustermesh-apiserver's external IPs) or an address`);
    const tls = c.tls ?? {};
    return {
      name: c.name,
      endpoints: hosts.map((h) => `https://${h}:${port}`),
      tls: { ca: tls.caCert ? b64(tls.caCert, `${where}.tls.caCert`) : localCa, cert: b64(tls.cert, `${where}.tls.cert`), key: b64(tls.key, `${where}.tls.key`) },
    };
  });
}

/**
 * Seed 002's declarative path: the clustermesh.* values give the same mesh that ca import,
 * clustermesh enable and connect build. `apiserver.tls.ca` sets the CA, `useAPIServer` enables the
 * endpoint, `config.clusters[]` is the complete list of peers.
 */
export async function applyMeshValues(values: Values, ctx: MeshValuesContext): Promise<void> {
  const caCert = getPath(values, "clustermesh.apiserver.tls.ca.cert");
  const caKey = getPath(values, "clustermesh.apiserver.tls.ca.key");
  if (caCert !== undefined || caKey !== undefined) {
    const pair = { certPem: b64(caCert, "clustermesh.apiserver.tls.ca.cert"), keyPem: b64(caKey, "clustermesh.apiserver.tls.ca.key") };
    const current = await readClusterCa(ctx.store);
    if (current?.certPem.trim() !== pair.certPem.trim()) {
      await writeClusterCa(ctx.store, pair);
      const fresh = await ctx.adoptCa(pair);
      if (fresh) ctx.store = fresh;
      ctx.progress(`✓ ${ctx.cluster} now uses the CA from clustermesh.apiserver.tls.ca`);
    }
  }
  if (getPath(values, "clustermesh.useAPIServer") === true) {
    const type = getPath(values, "clustermesh.apiserver.service.type") ?? "LoadBalancer";
    const kvstoremesh = getPath(values, "clustermesh.apiserver.kvstoremesh.enabled") !== false;
    const method = getPath(values, "clustermesh.apiserver.tls.auto.method");
    await enableClusterMesh(ctx.store, {
      serviceType: parseServiceType(String(type)),
      kvstoremesh,
      controlPlaneIp: ctx.controlPlaneIp,
      access: ctx.store,
      hooks: ctx.hooks,
      tlsAutoMethod: typeof method === "string" ? method : undefined,
      progress: ctx.progress,
    });
  }
  if (getPath(values, "clustermesh.config.enabled") === true && getPath(values, "clustermesh.config.clusters") !== undefined) {
    const ca = await readClusterCa(ctx.store);
    if (!ca) throw new ValuesError(`${ctx.cluster} has no CA; set clustermesh.apiserver.tls.ca or recreate the cluster`);
    const peers = peersFromValues(values, ca.certPem).filter((p) => p.name !== ctx.cluster);
    const data: Record<string, Buffer> = {};
    for (const p of peers) Object.assign(data, meshSecretEntries(p));
    const before = await readMeshSecret(ctx.store);
    const beforeNames = before ? parseMeshSecret(before, ctx.cluster).peers.map((p) => p.name) : [];
    await writeMeshSecret(ctx.store, data);
    ctx.progress(`✓ mesh peers from clustermesh.config.clusters: ${peers.map((p) => p.name).join(", ") || "none"}${beforeNames.length ? ` (before: ${beforeNames.join(", ")})` : ""}`);
  }
}
