import { posix } from "node:path";
import { parse as parseYaml } from "yaml";
import { clusterNameProblem } from "../cluster/index.js";
import { validateEtcdConfig, type KvStore } from "../kvstore/index.js";
import { peerConfigProblem, peerEtcdConfig, type PeerConfig } from "./peer-config.js";
import type { PeerProblem } from "./status.js";

/**
 * The mesh configuration: one secret, `kube-system/cilium-clustermesh`, in the form Cilium's CLI
 * writes it. Each key without a dot is a peer's name and holds an etcd client config (YAML); the
 * certificate files that config names are other keys of the same secret, found by base name, as
 * they would be once the secret is mounted at /var/lib/cilium/clustermesh/. One secret serves every
 * cluster: each ignores the entry naming itself.
 *
 * Trellis keeps secrets in the cluster's etcd as Kubernetes-shaped JSON under trellis/secrets/.
 */

export const SECRETS_PREFIX = "trellis/secrets";
export const MESH_SECRET_NAMESPACE = "kube-system";
export const MESH_SECRET_NAME = "cilium-clustermesh";
/** Where Cilium mounts the secret; the file paths in its configs point here. */
export const MESH_CONFIG_DIR = "/var/lib/cilium/clustermesh";

export function secretKey(namespace: string, name: string): string {
  return `${SECRETS_PREFIX}/${namespace}/${name}`;
}

export const MESH_SECRET_KEY = secretKey(MESH_SECRET_NAMESPACE, MESH_SECRET_NAME);

/**
 * The cluster's own `remote` client certificate. Cilium mounts it beside the mesh secret under
 * the `common-` names below, and a peer entry that names those files logs in to the peer with the
 * cluster's own certificate: the peers share its CA, and whenever the certificate is renewed every
 * such connection follows without anyone copying anything.
 */
export const OWN_CERT_SECRET_KEY = secretKey(MESH_SECRET_NAMESPACE, "clustermesh-apiserver-remote-cert");
export const OWN_CERT_FILES = { ca: "common-etcd-client-ca.crt", cert: "common-etcd-client.crt", key: "common-etcd-client.key" } as const;
const OWN_CERT_NAMES: readonly string[] = Object.values(OWN_CERT_FILES);

/** The own-certificate files as a peer entry finds them, from the remote certificate secret's data. */
export function ownCertFiles(remoteCertData: SecretData | undefined): SecretData {
  const out: SecretData = {};
  const from: [string, string][] = [
    ["ca.crt", OWN_CERT_FILES.ca],
    ["tls.crt", OWN_CERT_FILES.cert],
    ["tls.key", OWN_CERT_FILES.key],
  ];
  for (const [key, file] of from) if (remoteCertData?.[key] !== undefined) out[file] = remoteCertData[key]!;
  return out;
}

/** A peer reached with this cluster's own remote certificate (it trusts the same CA). */
export interface OwnCertPeer {
  readonly name: string;
  readonly endpoints: readonly string[];
  readonly ownCert: true;
}

/** A peer as the mesh secret records it: with its own TLS material, or with the cluster's own certificate. */
export type MeshPeer = PeerConfig | OwnCertPeer;

export function isOwnCertPeer(p: MeshPeer): p is OwnCertPeer {
  return (p as OwnCertPeer).ownCert === true;
}

export type SecretData = Record<string, Buffer>;

export class MeshSecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MeshSecretError";
  }
}

export interface SecretDocument {
  readonly namespace: string;
  readonly name: string;
  readonly data: SecretData;
}

// Kubernetes' rule for secret data keys.
const DATA_KEY = /^[-._a-zA-Z0-9]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function encodeSecret(doc: SecretDocument): string {
  const data: Record<string, string> = {};
  for (const key of Object.keys(doc.data).sort()) {
    if (!DATA_KEY.test(key)) throw new MeshSecretError(`secret ${doc.namespace}/${doc.name}: data key ${JSON.stringify(key)} may only contain letters, digits, '-', '_' and '.'`);
    data[key] = Buffer.from(doc.data[key]!).toString("base64");
  }
  return JSON.stringify({ apiVersion: "v1", kind: "Secret", metadata: { name: doc.name, namespace: doc.namespace }, type: "Opaque", data });
}

/** Reads a secret document; throws MeshSecretError saying what is wrong with it. */
export function decodeSecret(key: string, value: Buffer | string): SecretDocument {
  let doc: unknown;
  try {
    doc = JSON.parse(value.toString());
  } catch (e) {
    throw new MeshSecretError(`secret ${key} is not JSON: ${(e as Error).message}`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new MeshSecretError(`secret ${key} must be a JSON object with kind "Secret"`);
  const o = doc as Record<string, unknown>;
  if (o.kind !== "Secret") throw new MeshSecretError(`secret ${key} has kind ${JSON.stringify(o.kind)}; expected "Secret"`);
  const meta = (typeof o.metadata === "object" && o.metadata !== null ? o.metadata : {}) as Record<string, unknown>;
  const raw = o.data ?? {};
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new MeshSecretError(`secret ${key}: "data" must map keys to base64 strings (got ${JSON.stringify(raw)})`);
  const data: SecretData = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof v !== "string" || !BASE64.test(v)) throw new MeshSecretError(`secret ${key}: data key ${JSON.stringify(k)} must hold a base64 string (got ${JSON.stringify(v)?.slice(0, 40)})`);
    data[k] = Buffer.from(v, "base64");
  }
  return { namespace: String(meta.namespace ?? ""), name: String(meta.name ?? ""), data };
}

export async function readMeshSecret(store: KvStore, key = MESH_SECRET_KEY): Promise<SecretData | undefined> {
  const kv = await store.get(key);
  return kv ? decodeSecret(key, kv.value).data : undefined;
}

export async function writeMeshSecret(store: KvStore, data: SecretData, key = MESH_SECRET_KEY): Promise<void> {
  await store.put(key, encodeSecret({ ...secretNameOf(key), data }));
}

/**
 * Rewrites the secret through `update` without losing a concurrent writer's change: the write only
 * lands if the secret is still the one read, else it is read and updated again.
 */
export async function updateMeshSecret(store: KvStore, update: (data: SecretData) => SecretData, key = MESH_SECRET_KEY): Promise<SecretData> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const kv = await store.get(key);
    const next = update(kv ? { ...decodeSecret(key, kv.value).data } : {});
    const res = await store.txn({
      compare: [{ key, target: "modRevision", op: "==", value: kv?.modRevision ?? 0 }],
      success: [{ type: "put", key, value: encodeSecret({ ...secretNameOf(key), data: next }) }],
    });
    if (res.succeeded) return next;
  }
  throw new MeshSecretError(`secret ${key} kept changing while being updated; try again`);
}

/** Adds `peer` to the secret, replacing any earlier entry of the same name. */
export async function addMeshPeer(store: KvStore, peer: MeshPeer, key = MESH_SECRET_KEY): Promise<void> {
  const entries = meshSecretEntries(peer);
  await updateMeshSecret(store, (data) => ({ ...withoutPeer(data, peer.name), ...entries }), key);
}

/** Removes the peer's config and files; false when it was not there. */
export async function removeMeshPeer(store: KvStore, name: string, key = MESH_SECRET_KEY): Promise<boolean> {
  let found = false;
  await updateMeshSecret(
    store,
    (data) => {
      found = name in data;
      return withoutPeer(data, name);
    },
    key,
  );
  return found;
}

function withoutPeer(data: SecretData, name: string): SecretData {
  return Object.fromEntries(Object.entries(data).filter(([k]) => k !== name && !k.startsWith(`${name}.`)));
}

function secretNameOf(key: string): { namespace: string; name: string } {
  const parts = key.split("/");
  return { namespace: parts.at(-2) ?? MESH_SECRET_NAMESPACE, name: parts.at(-1) ?? MESH_SECRET_NAME };
}

export interface MeshSecretParse {
  /** Sorted by name. */
  readonly peers: PeerConfig[];
  /** Entries naming the local cluster. */
  readonly ignored: string[];
  /** Entries that could not be used; the others are. */
  readonly problems: PeerProblem[];
}

/**
 * The peers a secret's data describes for cluster `localCluster`. A broken entry is reported in
 * `problems` and skipped; it never keeps the others from being used. `ownCert` holds the cluster's
 * own certificate files (ownCertFiles): entries naming them resolve to its current certificate.
 */
export function parseMeshSecret(secretData: Record<string, Buffer>, localCluster: string, ownCert: SecretData = {}): MeshSecretParse {
  // The own-certificate names belong to the remote certificate secret whenever it exists.
  const data: Record<string, Buffer> = { ...secretData, ...ownCert };
  const peers: PeerConfig[] = [];
  const ignored: string[] = [];
  const problems: PeerProblem[] = [];
  for (const name of Object.keys(secretData).sort()) {
    if (name.includes(".")) continue;
    if (name === localCluster) {
      ignored.push(name);
      continue;
    }
    const result = parsePeerEntry(name, data);
    if ("problem" in result) problems.push({ peer: name, message: result.problem });
    else peers.push(result.peer);
  }
  return { peers, ignored, problems };
}

const SOURCE = `secret ${MESH_SECRET_NAMESPACE}/${MESH_SECRET_NAME}`;

function parsePeerEntry(name: string, data: Record<string, Buffer>): { peer: PeerConfig } | { problem: string } {
  const where = `${SOURCE}, entry ${JSON.stringify(name)}`;
  const nameWhy = clusterNameProblem(name);
  if (nameWhy !== undefined) return { problem: `${where}: ${JSON.stringify(name)} is not a valid cluster name: ${nameWhy}` };
  let doc: unknown;
  try {
    doc = parseYaml(data[name]!.toString("utf8"));
  } catch (e) {
    return { problem: `${where}: not valid YAML: ${(e as Error).message.split("\n")[0]}` };
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    return { problem: `${where}: must be an etcd client config, a YAML mapping with an "endpoints:" list (got ${JSON.stringify(doc)?.slice(0, 60)})` };
  }
  const raw = doc as Record<string, unknown>;
  const endpoints = raw.endpoints;
  if (!Array.isArray(endpoints) || endpoints.length === 0 || endpoints.some((e) => typeof e !== "string")) {
    return { problem: `${where}: "endpoints" must list URLs such as "- https://clustermesh-apiserver.${name}:2379" (got ${JSON.stringify(endpoints)})` };
  }
  if (raw.username !== undefined || raw.password !== undefined) {
    return { problem: `${where}: username/password authentication is not supported; use a client certificate (cert-file, key-file)` };
  }
  if (raw["insecure-skip-tls-verify"] === true) return { problem: `${where}: insecure-skip-tls-verify is not supported; give the server's CA as trusted-ca-file` };

  const file = (field: string): { pem?: string } | { problem: string } => {
    const path = raw[field];
    if (path === undefined || path === null || path === "") return {};
    if (typeof path !== "string") return { problem: `${where}: "${field}" must be a file path (got ${JSON.stringify(path)})` };
    const base = posix.basename(path);
    const content = Object.hasOwn(data, base) ? data[base] : undefined;
    if (content === undefined && OWN_CERT_NAMES.includes(base)) {
      return {
        problem: `${where}: ${field} ${path} is this cluster's own remote certificate (secret ${MESH_SECRET_NAMESPACE}/clustermesh-apiserver-remote-cert), which does not exist yet: run "trellis clustermesh enable" in this cluster`,
      };
    }
    if (content === undefined) {
      return { problem: `${where}: ${field} ${path} names file ${JSON.stringify(base)}, which is not a key of the secret (its keys: ${Object.keys(data).sort().join(", ")})` };
    }
    return { pem: content.toString("utf8") };
  };

  const secure = (endpoints as string[]).some((e) => e.startsWith("https://"));
  let tls: PeerConfig["tls"];
  if (secure && raw["insecure-transport"] !== true) {
    const ca = file(raw["trusted-ca-file"] !== undefined ? "trusted-ca-file" : "ca-file");
    const cert = file("cert-file");
    const key = file("key-file");
    for (const f of [ca, cert, key]) if ("problem" in f) return { problem: f.problem };
    const caPem = (ca as { pem?: string }).pem;
    if (caPem === undefined) return { problem: `${where}: https endpoints need trusted-ca-file, the CA that signed the remote etcd's server certificate` };
    const certPem = (cert as { pem?: string }).pem;
    const keyPem = (key as { pem?: string }).pem;
    tls = { ca: caPem, ...(certPem !== undefined ? { cert: certPem } : {}), ...(keyPem !== undefined ? { key: keyPem } : {}) };
  }
  const peer: PeerConfig = { name, endpoints: [...(endpoints as string[])], ...(tls ? { tls } : {}) };
  try {
    validateEtcdConfig(peerEtcdConfig(peer), where);
  } catch (e) {
    return { problem: (e as Error).message };
  }
  return { peer };
}

/**
 * The secret entries for `peer`, named as Cilium's CLI names them: `<peer>` (the etcd client
 * config) and, with TLS, `<peer>.etcd-client-ca.crt`, `<peer>.etcd-client.crt`,
 * `<peer>.etcd-client.key`, referenced under /var/lib/cilium/clustermesh/. A peer reached with the
 * cluster's own certificate gets only the config, naming the `common-` files (as Cilium's Helm
 * chart writes it for a peer whose tls is omitted).
 */
export function meshSecretEntries(peer: MeshPeer): SecretData {
  if (isOwnCertPeer(peer)) return ownCertPeerEntries(peer);
  const why = peerConfigProblem(peer);
  if (why !== undefined) throw new MeshSecretError(why);
  const files = {
    ca: `${peer.name}.etcd-client-ca.crt`,
    cert: `${peer.name}.etcd-client.crt`,
    key: `${peer.name}.etcd-client.key`,
  };
  const lines = ["endpoints:", ...peer.endpoints.map((e) => `- ${e}`)];
  const out: SecretData = {};
  if (peer.tls) {
    lines.push(`trusted-ca-file: ${MESH_CONFIG_DIR}/${files.ca}`);
    out[files.ca] = Buffer.from(peer.tls.ca);
    if (peer.tls.cert !== undefined && peer.tls.key !== undefined) {
      lines.push(`key-file: ${MESH_CONFIG_DIR}/${files.key}`, `cert-file: ${MESH_CONFIG_DIR}/${files.cert}`);
      out[files.cert] = Buffer.from(peer.tls.cert);
      out[files.key] = Buffer.from(peer.tls.key);
    }
  }
  out[peer.name] = Buffer.from(`${lines.join("\n")}\n`);
  return out;
}

function ownCertPeerEntries(peer: OwnCertPeer): SecretData {
  const why = clusterNameProblem(peer.name);
  if (why !== undefined) throw new MeshSecretError(`peer name ${JSON.stringify(peer.name)} is not a valid cluster name: ${why}`);
  try {
    validateEtcdConfig({ endpoints: peer.endpoints }, `peer ${peer.name}`);
  } catch (e) {
    throw new MeshSecretError((e as Error).message);
  }
  if (!peer.endpoints.every((e) => e.startsWith("https://"))) {
    throw new MeshSecretError(`peer ${peer.name}: a client certificate needs https:// endpoints (got ${peer.endpoints.join(", ")})`);
  }
  const lines = [
    "endpoints:",
    ...peer.endpoints.map((e) => `- ${e}`),
    `trusted-ca-file: ${MESH_CONFIG_DIR}/${OWN_CERT_FILES.ca}`,
    `key-file: ${MESH_CONFIG_DIR}/${OWN_CERT_FILES.key}`,
    `cert-file: ${MESH_CONFIG_DIR}/${OWN_CERT_FILES.cert}`,
  ];
  return { [peer.name]: Buffer.from(`${lines.join("\n")}\n`) };
}
