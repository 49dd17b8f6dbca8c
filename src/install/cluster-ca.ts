import { X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import type { KvStore } from "../kvstore/kvstore.js";
import { keys } from "../resources/keys.js";
import { makeSecret, SECRETS, secretBytes, type Secret } from "../resources/secret.js";
import type { KeyPairPem } from "../pki/certificates.js";

export class CaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CaError";
  }
}

/** Checks that a PEM pair is a CA certificate with its own key; the message says what is off. */
export function checkCaPair(pair: KeyPairPem): void {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pair.certPem);
  } catch (e) {
    throw new CaError(`ca.crt is not a PEM certificate: ${(e as Error).message}`);
  }
  if (!cert.ca) throw new CaError(`ca.crt (${cert.subject}) is not a CA certificate (basicConstraints CA:FALSE)`);
  let pub: string;
  try {
    pub = createPublicKey(createPrivateKey(pair.keyPem)).export({ type: "spki", format: "pem" }).toString();
  } catch (e) {
    throw new CaError(`ca.key is not a PEM private key: ${(e as Error).message}`);
  }
  if (pub !== cert.publicKey.export({ type: "spki", format: "pem" }).toString()) throw new CaError("ca.key does not belong to ca.crt");
  if (new Date(cert.validTo).getTime() < Date.now()) throw new CaError(`the CA expired on ${cert.validTo}`);
}

export function caSecret(pair: KeyPairPem): Secret {
  return makeSecret(SECRETS.namespace, SECRETS.ca, { "ca.crt": pair.certPem, "ca.key": pair.keyPem });
}

/** The cluster CA (secret cilium-ca), as `clustermesh enable` issues certificates from it. */
export async function readClusterCa(store: KvStore): Promise<KeyPairPem | undefined> {
  const kv = await store.get(keys.secret(SECRETS.namespace, SECRETS.ca));
  if (!kv) return undefined;
  const s = JSON.parse(kv.value.toString()) as Secret;
  const cert = secretBytes(s, "ca.crt")?.toString();
  const key = secretBytes(s, "ca.key")?.toString();
  if (!cert || !key) throw new CaError("secret kube-system/cilium-ca lacks ca.crt or ca.key");
  return { certPem: cert, keyPem: key };
}

export async function writeClusterCa(store: KvStore, pair: KeyPairPem): Promise<void> {
  checkCaPair(pair);
  await store.put(keys.secret(SECRETS.namespace, SECRETS.ca), JSON.stringify(caSecret(pair)));
}

/** Reads a CA from a Secret document (ca.crt and ca.key, base64), as `ca export` writes it. */
export function caFromSecret(secret: Secret): KeyPairPem {
  const cert = secretBytes(secret, "ca.crt")?.toString();
  const key = secretBytes(secret, "ca.key")?.toString();
  if (!cert || !key) throw new CaError(`secret ${secret.metadata.name} has no ca.crt and ca.key; export one with "trellis ca export"`);
  const pair = { certPem: cert, keyPem: key };
  checkCaPair(pair);
  return pair;
}
