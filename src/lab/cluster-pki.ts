import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { createCertificateAuthority, issueCertificate, type KeyPairPem } from "../pki/certificates.js";
import { writeFileAtomic } from "../util/atomic-file.js";

/**
 * A lab cluster's certificates, as files: the cluster CA, etcd's server certificate, client
 * certificates whose CN is the etcd user (`root` for the admin CLI, `admin-<cluster>` for the
 * cluster's own daemons), and the bundle of CAs etcd and its clients trust. The bundle holds the
 * current CA and any earlier one, so certificates issued before a CA change keep working.
 * Existing files are kept, so `lab up` twice changes nothing.
 */
export interface ClusterPkiFiles {
  readonly dir: string;
  readonly caCert: string;
  readonly caKey: string;
  /** Every CA etcd accepts client certificates from, and clients accept etcd's certificate from. */
  readonly trustedBundle: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /** Extra addresses the server certificate carries (the mesh's exposed addresses). */
  readonly serverAddresses: string;
  client(user: string): { cert: string; key: string };
}

export function pkiFiles(dir: string): ClusterPkiFiles {
  return {
    dir,
    caCert: join(dir, "ca.crt"),
    caKey: join(dir, "ca.key"),
    trustedBundle: join(dir, "trusted-ca.crt"),
    serverCert: join(dir, "etcd-server.crt"),
    serverKey: join(dir, "etcd-server.key"),
    serverAddresses: join(dir, "etcd-server-addresses.json"),
    client: (user) => ({ cert: join(dir, `${user}.crt`), key: join(dir, `${user}.key`) }),
  };
}

function write(pair: KeyPairPem, cert: string, key: string): void {
  writeFileSync(key, pair.keyPem, { mode: 0o600 });
  writeFileSync(cert, pair.certPem);
}

function readCa(f: ClusterPkiFiles): KeyPairPem {
  return { certPem: readFileSync(f.caCert, "utf8"), keyPem: readFileSync(f.caKey, "utf8") };
}

function serverIps(f: ClusterPkiFiles, base: readonly string[]): string[] {
  const extra = existsSync(f.serverAddresses) ? (JSON.parse(readFileSync(f.serverAddresses, "utf8")) as string[]) : [];
  return [...new Set(["127.0.0.1", ...base, ...extra])];
}

async function issueServer(f: ClusterPkiFiles, ca: KeyPairPem, cluster: string, ips: readonly string[], validity: { validityDays?: number; now?: Date } = {}): Promise<void> {
  // etcd reads its certificate files on every new TLS handshake, so a re-issued certificate
  // (new addresses, renewal) takes effect without a restart. Each file is replaced whole, so a
  // handshake never reads half of one.
  const server = await issueCertificate(ca, {
    commonName: `etcd.${cluster}`,
    usage: "both",
    dnsNames: ["localhost", `etcd.${cluster}.trellis`, `${cluster}.mesh.cilium.io`],
    ipAddresses: [...ips],
    ...validity,
  });
  await writeFileAtomic(f.serverKey, server.keyPem);
  await writeFileAtomic(f.serverCert, server.certPem);
}

export async function ensureClusterPki(dir: string, cluster: string, serverBaseIps: readonly string[], users: readonly string[]): Promise<ClusterPkiFiles> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const f = pkiFiles(dir);
  if (!existsSync(f.caCert) || !existsSync(f.caKey)) write(await createCertificateAuthority(`${cluster} CA`), f.caCert, f.caKey);
  const ca = readCa(f);
  if (!existsSync(f.trustedBundle)) writeFileSync(f.trustedBundle, ca.certPem);
  if (!existsSync(f.serverCert)) await issueServer(f, ca, cluster, serverIps(f, serverBaseIps));
  for (const user of users) {
    const c = f.client(user);
    if (!existsSync(c.cert)) write(await issueCertificate(ca, { commonName: user, usage: "client" }), c.cert, c.key);
  }
  return f;
}

/** Adds addresses to etcd's server certificate (the mesh endpoint's exposed IPs); a new one lives `validityDays`. */
export async function addServerAddresses(dir: string, cluster: string, serverBaseIps: readonly string[], addresses: readonly string[], validityDays?: number): Promise<boolean> {
  const f = pkiFiles(dir);
  const before = serverIps(f, serverBaseIps);
  const extra = [...new Set([...(existsSync(f.serverAddresses) ? (JSON.parse(readFileSync(f.serverAddresses, "utf8")) as string[]) : []), ...addresses])];
  writeFileSync(f.serverAddresses, JSON.stringify(extra));
  const after = serverIps(f, serverBaseIps);
  if (after.length === before.length) return false;
  await issueServer(f, readCa(f), cluster, after, validityDays !== undefined ? { validityDays } : {});
  return true;
}

/** etcd's server certificate (PEM), or undefined when the lab has none yet. */
export function readServerCert(dir: string): string | undefined {
  const f = pkiFiles(dir);
  return existsSync(f.serverCert) ? readFileSync(f.serverCert, "utf8") : undefined;
}

/** Issues etcd's server certificate again (renewal), with the same names and addresses. */
export async function renewServerCert(dir: string, cluster: string, serverBaseIps: readonly string[], ca: KeyPairPem, validityDays: number, now: Date): Promise<void> {
  const f = pkiFiles(dir);
  await issueServer(f, ca, cluster, serverIps(f, serverBaseIps), { validityDays, now });
}

/**
 * Makes `ca` the cluster's CA: the server and every client certificate are issued again from it,
 * and the trusted bundle keeps the previous CA too. Returns false when it already was the CA.
 * etcd and the daemons read the bundle at start, so the caller restarts them.
 */
export async function rekeyClusterPki(dir: string, cluster: string, serverBaseIps: readonly string[], users: readonly string[], ca: KeyPairPem): Promise<boolean> {
  const f = pkiFiles(dir);
  const old = readCa(f);
  if (old.certPem.trim() === ca.certPem.trim()) return false;
  const bundle = existsSync(f.trustedBundle) ? readFileSync(f.trustedBundle, "utf8") : old.certPem;
  if (!bundle.includes(ca.certPem.trim())) writeFileSync(f.trustedBundle, `${ca.certPem.trim()}\n${bundle.trim()}\n`);
  write(ca, f.caCert, f.caKey);
  await issueServer(f, ca, cluster, serverIps(f, serverBaseIps));
  for (const user of users) {
    const c = f.client(user);
    write(await issueCertificate(ca, { commonName: user, usage: "client" }), c.cert, c.key);
  }
  return true;
}

/** An etcd client config file in Cilium's format (endpoints, trusted-ca-file, cert-file, key-file). */
export function writeEtcdClientConfig(path: string, endpoints: readonly string[], f: ClusterPkiFiles, user: string): void {
  const c = f.client(user);
  writeFileSync(path, stringify({ endpoints: [...endpoints], "trusted-ca-file": f.trustedBundle, "cert-file": c.cert, "key-file": c.key }), { mode: 0o600 });
}
