import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { createCertificateAuthority, issueCertificate, type KeyPairPem } from "../pki/certificates.js";

/**
 * A lab cluster's certificates, as files: the cluster CA, etcd's server certificate, and client
 * certificates whose CN is the etcd user (`root` for the admin CLI, `admin-<cluster>` for the
 * cluster's own daemons). Existing files are kept, so `lab up` twice changes nothing.
 */
export interface ClusterPkiFiles {
  readonly dir: string;
  readonly caCert: string;
  readonly caKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
  client(user: string): { cert: string; key: string };
}

export function pkiFiles(dir: string): ClusterPkiFiles {
  return {
    dir,
    caCert: join(dir, "ca.crt"),
    caKey: join(dir, "ca.key"),
    serverCert: join(dir, "etcd-server.crt"),
    serverKey: join(dir, "etcd-server.key"),
    client: (user) => ({ cert: join(dir, `${user}.crt`), key: join(dir, `${user}.key`) }),
  };
}

function write(pair: KeyPairPem, cert: string, key: string): void {
  writeFileSync(cert, pair.certPem);
  writeFileSync(key, pair.keyPem, { mode: 0o600 });
}

export async function ensureClusterPki(dir: string, cluster: string, serverIps: readonly string[], users: readonly string[]): Promise<ClusterPkiFiles> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const f = pkiFiles(dir);
  if (!existsSync(f.caCert) || !existsSync(f.caKey)) write(await createCertificateAuthority(`${cluster} CA`), f.caCert, f.caKey);
  const ca: KeyPairPem = { certPem: readFileSync(f.caCert, "utf8"), keyPem: readFileSync(f.caKey, "utf8") };
  if (!existsSync(f.serverCert)) {
    const server = await issueCertificate(ca, {
      commonName: `etcd.${cluster}`,
      usage: "both",
      dnsNames: ["localhost", `etcd.${cluster}.trellis`],
      ipAddresses: ["127.0.0.1", ...serverIps],
    });
    write(server, f.serverCert, f.serverKey);
  }
  for (const user of users) {
    const c = f.client(user);
    if (!existsSync(c.cert)) write(await issueCertificate(ca, { commonName: user, usage: "client" }), c.cert, c.key);
  }
  return f;
}

/** An etcd client config file in Cilium's format (endpoints, trusted-ca-file, cert-file, key-file). */
export function writeEtcdClientConfig(path: string, endpoints: readonly string[], f: ClusterPkiFiles, user: string): void {
  const c = f.client(user);
  writeFileSync(path, stringify({ endpoints: [...endpoints], "trusted-ca-file": f.caCert, "cert-file": c.cert, "key-file": c.key }), { mode: 0o600 });
}
