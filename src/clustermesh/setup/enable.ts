import type { KvStore } from "../../kvstore/kvstore.js";
import { readClusterCa } from "../../install/cluster-ca.js";
import { storedTlsAuto, type TlsAuto } from "../../install/tls-auto.js";
import { describeCertificate } from "../../pki/certificates.js";
import { parseClusterSettings } from "../../resources/cluster-settings.js";
import { keys } from "../../resources/keys.js";
import { SECRETS } from "../../resources/secret.js";
import type { ServiceEndpoints } from "../../resources/service-endpoints.js";
import type { ServiceStatus } from "../../resources/service.js";
import { disableMeshAccess, enableMeshAccess, type MeshAccessTarget } from "../access/index.js";
import { certValidityDaysOf, MESH_SERVICE, readMeshSettings, writeMeshSettings, type MeshServiceType, type MeshSettings } from "./mesh-settings.js";
import { ensureRemoteCert } from "./remote-cert.js";

/** What a deployment of Trellis does where the lab would roll out pods (hooks the CLI provides). */
export interface MeshHooks {
  /** etcd's server certificate must name these addresses (the exposed ones); one issued for them lives `validityDays`. */
  exposeAddresses(ips: readonly string[], validityDays?: number): Promise<void>;
  /** Start or stop KVStoreMesh. */
  runKvstoremesh(run: boolean): Promise<void>;
}

export interface EnableOptions {
  readonly serviceType: MeshServiceType;
  readonly kvstoremesh: boolean;
  /** The control plane's address: etcd's own address, the backend of the mesh service. */
  readonly controlPlaneIp: string;
  /** The root client's store, for etcd users and roles. */
  readonly access: MeshAccessTarget;
  readonly hooks: MeshHooks;
  /** tls.auto from the values being applied; default: the values stored by install/upgrade, else the current settings. */
  readonly tlsAuto?: TlsAuto;
  readonly cacheTtlSeconds?: number;
  readonly progress?: (line: string) => void;
  /** How long to wait for the load-balancer IP (default 30 s). */
  readonly waitMs?: number;
}

export class MeshSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MeshSetupError";
  }
}

/** The addresses peers dial, or undefined while the exposure is still pending (no LB IP yet). */
export async function meshEndpoints(store: KvStore, settings: MeshSettings, controlPlaneIp: string): Promise<string[] | undefined> {
  if (settings.serviceType === "ClusterIP") return [`https://${controlPlaneIp}:${settings.port}`];
  const st = await store.get(keys.serviceStatus(MESH_SERVICE.namespace, MESH_SERVICE.name));
  if (!st) return undefined;
  const status = JSON.parse(st.value.toString()) as ServiceStatus;
  if (settings.serviceType === "LoadBalancer") return status.loadBalancerIPs.length ? status.loadBalancerIPs.map((ip) => `https://${ip}:${settings.port}`) : undefined;
  const nodePort = status.nodePorts[String(MESH_SERVICE.port)];
  const nodes = (await store.list(keys.nodeRegistrations())).kvs.map((kv) => (JSON.parse(kv.value.toString()) as { ip: string }).ip).sort();
  return nodePort && nodes.length ? nodes.map((ip) => `https://${ip}:${nodePort}`) : undefined;
}

function hostOf(endpoint: string): string {
  return new URL(endpoint).hostname;
}

/**
 * `clustermesh enable`: the cluster's etcd becomes the mesh endpoint. Exposes it as the
 * clustermesh-apiserver service, issues the `remote` certificate from the cluster CA, adds the
 * etcd users and roles the mesh needs, and starts KVStoreMesh unless disabled.
 */
export async function enableClusterMesh(store: KvStore, o: EnableOptions): Promise<{ settings: MeshSettings; endpoints?: string[] }> {
  const say = o.progress ?? (() => undefined);
  const cluster = parseClusterSettings((await store.get(keys.clusterSettings()))?.value.toString() ?? "null");
  const ca = await readClusterCa(store);
  if (!ca) throw new MeshSetupError(`${cluster.name} has no CA (secret kube-system/cilium-ca); import one with "trellis ca import" or recreate the lab`);

  const service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: MESH_SERVICE.name, namespace: MESH_SERVICE.namespace, labels: { "k8s-app": "clustermesh-apiserver" }, annotations: {}, creationTimestamp: new Date().toISOString() },
    spec: { type: o.serviceType, ports: [{ name: "apiserv", port: MESH_SERVICE.port, targetPort: MESH_SERVICE.port, protocol: "TCP", ...(o.serviceType === "ClusterIP" ? {} : { nodePort: MESH_SERVICE.nodePort }) }] },
  };
  const endpoints: ServiceEndpoints = { backends: [{ ip: o.controlPlaneIp, ready: true }], managedBy: "clustermesh" };
  await store.txn({
    success: [
      { type: "put", key: keys.service(MESH_SERVICE.namespace, MESH_SERVICE.name), value: JSON.stringify(service) },
      { type: "put", key: keys.serviceEndpoints(MESH_SERVICE.namespace, MESH_SERVICE.name), value: JSON.stringify(endpoints) },
    ],
  });
  say(`✓ Service "${MESH_SERVICE.name}" of type "${o.serviceType}" created`);

  const previous = await readMeshSettings(store);
  // tls.auto from the values being applied, else from those install/upgrade stored, else as it was.
  const auto = o.tlsAuto ?? (await storedTlsAuto(store)) ?? { method: previous?.tlsAutoMethod, certValidityDays: previous?.certValidityDays };
  const settings: MeshSettings = {
    enabled: true,
    serviceType: o.serviceType,
    kvstoremesh: o.kvstoremesh,
    port: MESH_SERVICE.port,
    cacheTtlSeconds: o.cacheTtlSeconds ?? previous?.cacheTtlSeconds ?? 0,
    ...(auto.method !== undefined ? { tlsAutoMethod: auto.method } : {}),
    ...(auto.certValidityDays !== undefined ? { certValidityDays: auto.certValidityDays } : {}),
  };

  // The exposed addresses go into etcd's certificate; a load-balancer IP may take a moment.
  const deadline = Date.now() + (o.waitMs ?? 30_000);
  let eps = await meshEndpoints(store, settings, o.controlPlaneIp);
  while (!eps && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    eps = await meshEndpoints(store, settings, o.controlPlaneIp);
  }
  if (eps) {
    await o.hooks.exposeAddresses(eps.map(hostOf), certValidityDaysOf(settings));
    say(`✓ Cluster access information is available: ${eps.join(", ")}`);
  } else say(`⌛ the ${o.serviceType} address is not assigned yet; "trellis clustermesh status --wait" waits for it`);

  const remote = await ensureRemoteCert(store, ca, { validityDays: certValidityDaysOf(settings) });
  if (remote.decision.renew) {
    const until = describeCertificate(remote.certPem).notAfter.toISOString();
    say(`✓ Certificate for user "remote" issued by ${describeCertificate(ca.certPem).subjectCommonName}, valid until ${until} (secret ${SECRETS.remoteCert})`);
  }
  say(
    settings.tlsAutoMethod
      ? `✓ Certificates are renewed before they expire (tls.auto.method=${settings.tlsAutoMethod}, validity ${certValidityDaysOf(settings)} days)`
      : `ℹ Certificates are not renewed automatically: set clustermesh.apiserver.tls.auto.method (trellis upgrade --set clustermesh.apiserver.tls.auto.method=cronJob) or run "trellis clustermesh enable" again before they expire`,
  );
  const access = await enableMeshAccess(o.access, cluster.name);
  say(`✓ etcd users and roles for the mesh in place (${access.changes.length} change(s)), authentication on`);

  await writeMeshSettings(store, settings);
  await o.hooks.runKvstoremesh(o.kvstoremesh);
  say(o.kvstoremesh ? "✓ KVStoreMesh is enabled" : "ℹ KVStoreMesh is disabled: every agent connects to every remote cluster directly");
  return { settings, endpoints: eps };
}

/** `clustermesh disable`: the mesh endpoint goes away; the cluster keeps TLS and its own users. */
export async function disableClusterMesh(store: KvStore, access: MeshAccessTarget, hooks: MeshHooks): Promise<void> {
  const cluster = parseClusterSettings((await store.get(keys.clusterSettings()))?.value.toString() ?? "null");
  const prev = await readMeshSettings(store);
  await hooks.runKvstoremesh(false);
  // keepAuth: with authentication off, a peer's leftover remote certificate could write everything.
  await disableMeshAccess(access, cluster.name, { keepAuth: true });
  await store.txn({
    success: [
      { type: "delete", key: keys.service(MESH_SERVICE.namespace, MESH_SERVICE.name) },
      { type: "delete", key: keys.serviceEndpoints(MESH_SERVICE.namespace, MESH_SERVICE.name) },
      { type: "delete", key: keys.secret(SECRETS.namespace, SECRETS.remoteCert) },
    ],
  });
  if (prev) await writeMeshSettings(store, { ...prev, enabled: false, kvstoremesh: false });
}
