import { readMeshSecret, writeMeshSecret, meshSecretEntries, type MeshPeer } from "../clustermesh/mesh-secret.js";
import { enableClusterMesh, type MeshHooks } from "../clustermesh/setup/enable.js";
import { certValidityDaysOf, parseServiceType, readMeshSettings, writeMeshSettings } from "../clustermesh/setup/mesh-settings.js";
import { readRemoteCert } from "../clustermesh/setup/remote-cert.js";
import type { EtcdStore } from "../kvstore/etcd-store.js";
import { DAY_MS, describeCertificate, isIssuedBy, type KeyPairPem } from "../pki/certificates.js";
import { formatDuration } from "../pki/renewal.js";
import { readClusterCa, writeClusterCa } from "./cluster-ca.js";
import { getPath, type Values } from "./helm-set.js";
import { storedTlsAuto, tlsAutoFromValues, type TlsAuto } from "./tls-auto.js";
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

export interface PeersFromValuesOptions {
  /** This cluster has its own `remote` certificate, issued by `localCa` (the mesh is enabled). */
  readonly ownCert?: boolean;
}

function isSharedCaRemoteCert(certPem: string, localCa: string): boolean {
  try {
    return describeCertificate(certPem).subjectCommonName === "remote" && isIssuedBy(certPem, localCa);
  } catch {
    return false;
  }
}

/**
 * clustermesh.config.clusters[] as peers: endpoints from ips (or address) and port. Without
 * tls.cert/key the cluster logs in with its own remote certificate, as Cilium's chart does. With
 * them, and when they are merely the peer's copy of a `remote` certificate from the CA both
 * clusters share (seed 002 pastes exactly that), the cluster's own certificate is used too: the
 * peer accepts it the same way, and unlike the copy it is renewed here. `notes` says so.
 */
export function peersFromValues(values: Values, localCa: string, options: PeersFromValuesOptions = {}): { peers: MeshPeer[]; notes: string[] } {
  const list = getPath(values, "clustermesh.config.clusters");
  if (list === undefined) return { peers: [], notes: [] };
  if (!Array.isArray(list)) throw new ValuesError("clustermesh.config.clusters must be a list");
  const notes: string[] = [];
  const peers = (list as ClusterEntry[]).map((c, i): MeshPeer => {
    const where = `clustermesh.config.clusters[${i}]`;
    if (typeof c?.name !== "string" || !c.name) throw new ValuesError(`${where}.name is required`);
    const port = c.port ?? 2379;
    if (typeof port !== "number" || port < 1 || port > 65535) throw new ValuesError(`${where}.port must be a port number (got ${JSON.stringify(port)})`);
    const ips = Array.isArray(c.ips) ? c.ips.filter((x): x is string => typeof x === "string" && x !== "") : [];
    const hosts = ips.length ? ips : typeof c.address === "string" && c.address ? [c.address] : [];
    if (!hosts.length) throw new ValuesError(`${where}: give ips (the remote clustermesh-apiserver's external IPs) or an address`);
    const endpoints = hosts.map((h) => `https://${h}:${port}`);
    const tls = c.tls ?? {};
    if (!tls.cert && !tls.key) {
      if (!options.ownCert) notes.push(`ℹ ${where} (${c.name}) has no tls.cert/key: it is reached with this cluster's own remote certificate, which "clustermesh enable" (clustermesh.useAPIServer=true) issues`);
      return { name: c.name, endpoints, ownCert: true };
    }
    const material = { ca: tls.caCert ? b64(tls.caCert, `${where}.tls.caCert`) : localCa, cert: b64(tls.cert, `${where}.tls.cert`), key: b64(tls.key, `${where}.tls.key`) };
    if (options.ownCert && material.ca.trim() === localCa.trim() && isSharedCaRemoteCert(material.cert, localCa)) {
      notes.push(`ℹ ${where}.tls is a "remote" certificate of the CA ${c.name} shares with this cluster: ${c.name} is reached with this cluster's own remote certificate instead, which is renewed here`);
      return { name: c.name, endpoints, ownCert: true };
    }
    return { name: c.name, endpoints, tls: material };
  });
  return { peers, notes };
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
  const given = tlsAutoFromValues(values);
  if (given?.certValidityDays !== undefined && given.certValidityDays < 1) {
    ctx.progress(`ℹ certValidityDuration ${given.certValidityDays} days (${formatDuration(given.certValidityDays * DAY_MS)}) is under a day: meant for tests that watch renewals happen`);
  }
  // The stored values hold what earlier installs set too (an upgrade may name only the validity).
  const tlsAuto = given ? await storedTlsAuto(ctx.store) : undefined;
  if (getPath(values, "clustermesh.useAPIServer") === true) {
    const type = getPath(values, "clustermesh.apiserver.service.type") ?? "LoadBalancer";
    const kvstoremesh = getPath(values, "clustermesh.apiserver.kvstoremesh.enabled") !== false;
    await enableClusterMesh(ctx.store, {
      serviceType: parseServiceType(String(type)),
      kvstoremesh,
      controlPlaneIp: ctx.controlPlaneIp,
      access: ctx.store,
      hooks: ctx.hooks,
      ...(tlsAuto ? { tlsAuto } : {}),
      progress: ctx.progress,
    });
  } else if (tlsAuto) await applyTlsAuto(ctx, tlsAuto);
  if (getPath(values, "clustermesh.config.enabled") === true && getPath(values, "clustermesh.config.clusters") !== undefined) {
    const ca = await readClusterCa(ctx.store);
    if (!ca) throw new ValuesError(`${ctx.cluster} has no CA; set clustermesh.apiserver.tls.ca or recreate the cluster`);
    const own = await readRemoteCert(ctx.store);
    const { peers: all, notes } = peersFromValues(values, ca.certPem, { ownCert: own !== undefined && isIssuedBy(own.certPem, ca.certPem) });
    for (const n of notes) ctx.progress(n);
    const peers = all.filter((p) => p.name !== ctx.cluster);
    const data: Record<string, Buffer> = {};
    for (const p of peers) Object.assign(data, meshSecretEntries(p));
    const before = await readMeshSecret(ctx.store);
    const beforeNames = Object.keys(before ?? {}).filter((k) => !k.includes(".") && k !== ctx.cluster).sort();
    await writeMeshSecret(ctx.store, data);
    ctx.progress(`✓ mesh peers from clustermesh.config.clusters: ${peers.map((p) => p.name).join(", ") || "none"}${beforeNames.length ? ` (before: ${beforeNames.join(", ")})` : ""}`);
  }
}

/** `upgrade --set clustermesh.apiserver.tls.auto...` on a cluster whose mesh is already enabled. */
async function applyTlsAuto(ctx: MeshValuesContext, auto: TlsAuto): Promise<void> {
  const current = await readMeshSettings(ctx.store);
  if (!current) return; // "clustermesh enable" picks the stored values up
  const next = { ...current, tlsAutoMethod: auto.method, certValidityDays: auto.certValidityDays ?? current.certValidityDays };
  if (next.tlsAutoMethod === current.tlsAutoMethod && next.certValidityDays === current.certValidityDays) return;
  await writeMeshSettings(ctx.store, next);
  ctx.progress(
    next.tlsAutoMethod
      ? `✓ ${ctx.cluster}: certificates are renewed before they expire (tls.auto.method=${next.tlsAutoMethod}, validity ${certValidityDaysOf(next)} days)`
      : `✓ ${ctx.cluster}: certificates are no longer renewed automatically`,
  );
}
