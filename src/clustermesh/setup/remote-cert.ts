import type { KvStore } from "../../kvstore/kvstore.js";
import { DAY_MS, issueCertificate, type KeyPairPem } from "../../pki/certificates.js";
import { renewalDecision, type RenewalDecision } from "../../pki/renewal.js";
import { keys } from "../../resources/keys.js";
import { makeSecret, SECRETS, secretBytes, type Secret } from "../../resources/secret.js";

/**
 * The `remote` client certificate (secret kube-system/clustermesh-apiserver-remote-cert, as
 * Cilium names it): what a cluster's agents and KVStoreMesh present to its peers when the peers
 * share its CA, and what `clustermesh connect` hands to a peer with another CA. etcd maps its
 * common name to the user `remote`, who may only read the state peers need.
 */
export const REMOTE_CERT_KEY = keys.secret(SECRETS.namespace, SECRETS.remoteCert);

export interface RemoteCert {
  readonly certPem: string;
  readonly keyPem: string;
  /** The CA the secret's ca.crt names (the cluster CA when it was issued). */
  readonly caPem?: string;
}

export function remoteCertFromSecret(s: Secret): RemoteCert | undefined {
  const certPem = secretBytes(s, "tls.crt")?.toString();
  const keyPem = secretBytes(s, "tls.key")?.toString();
  if (!certPem || !keyPem) return undefined;
  return { certPem, keyPem, caPem: secretBytes(s, "ca.crt")?.toString() };
}

export async function readRemoteCert(store: KvStore): Promise<RemoteCert | undefined> {
  const kv = await store.get(REMOTE_CERT_KEY);
  return kv ? remoteCertFromSecret(JSON.parse(kv.value.toString()) as Secret) : undefined;
}

export interface EnsureRemoteCertOptions {
  readonly validityDays: number;
  /** Default: the clock. */
  readonly now?: Date;
}

export interface EnsureRemoteCertResult {
  /** The decision on the certificate found; `renew: true` means a new one was written. */
  readonly decision: RenewalDecision;
  /** The certificate in the secret afterwards. */
  readonly certPem: string;
}

/**
 * Issues the `remote` certificate from `ca` when it is missing, from another CA, due for renewal
 * or longer-lived than `validityDays` allows. The write only lands if nobody replaced the secret
 * meanwhile (the operator's renewal and `clustermesh enable` may run at once); then what the
 * other wrote is judged instead.
 */
export async function ensureRemoteCert(store: KvStore, ca: KeyPairPem, o: EnsureRemoteCertOptions): Promise<EnsureRemoteCertResult> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const now = o.now ?? new Date();
    const kv = await store.get(REMOTE_CERT_KEY);
    const current = kv ? remoteCertFromSecret(JSON.parse(kv.value.toString()) as Secret) : undefined;
    const decision = renewalDecision(current?.certPem, { validityMs: o.validityDays * DAY_MS, caPem: ca.certPem, now });
    if (!decision.renew) return { decision, certPem: current!.certPem };
    const issued = await issueCertificate(ca, { commonName: "remote", usage: "client", validityDays: o.validityDays, now });
    const secret = makeSecret(SECRETS.namespace, SECRETS.remoteCert, { "tls.crt": issued.certPem, "tls.key": issued.keyPem, "ca.crt": ca.certPem }, "kubernetes.io/tls");
    const res = await store.txn({
      compare: [{ key: REMOTE_CERT_KEY, target: "modRevision", op: "==", value: kv?.modRevision ?? 0 }],
      success: [{ type: "put", key: REMOTE_CERT_KEY, value: JSON.stringify(secret) }],
    });
    if (res.succeeded) return { decision, certPem: issued.certPem };
  }
  throw new Error(`secret ${SECRETS.namespace}/${SECRETS.remoteCert} kept changing while it was being renewed; try again`);
}
