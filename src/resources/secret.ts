import { z } from "zod";
import { dnsLabel, dnsSubdomain } from "./labels.js";
import { ManifestError } from "./manifest-error.js";

/**
 * A v1 Secret, as kubectl shows and takes it: `data` values are base64. Trellis keeps its secrets
 * (the cluster CA, the mesh certificates, the mesh configuration) in the cluster's etcd under
 * `trellis/secrets/<namespace>/<name>`, so seed 003's `get secret ... -o yaml | create -f -` and seed
 * 004's `create secret generic --from-file` flows work unchanged.
 */
const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, "must be base64");

const secretSchema = z.object({
  apiVersion: z.literal("v1"),
  kind: z.literal("Secret"),
  metadata: z.object({ name: dnsSubdomain, namespace: dnsLabel.default("kube-system") }).loose(),
  type: z.string().default("Opaque"),
  data: z.record(z.string().regex(/^[-._a-zA-Z0-9]+$/, "secret keys are letters, digits, '-', '_' and '.'"), base64).default({}),
  stringData: z.record(z.string(), z.string()).optional(),
});

export interface Secret {
  readonly apiVersion: "v1";
  readonly kind: "Secret";
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly type: string;
  readonly data: Readonly<Record<string, string>>;
}

export function parseSecret(doc: unknown): Secret {
  const name = (doc as { metadata?: { name?: string } } | null)?.metadata?.name;
  const r = secretSchema.safeParse(doc);
  if (!r.success) throw ManifestError.fromZod("Secret", name, r.error);
  const data: Record<string, string> = { ...r.data.data };
  for (const [k, v] of Object.entries(r.data.stringData ?? {})) data[k] = Buffer.from(v).toString("base64");
  return { apiVersion: "v1", kind: "Secret", metadata: { name: r.data.metadata.name, namespace: r.data.metadata.namespace }, type: r.data.type, data };
}

export function makeSecret(namespace: string, name: string, files: Readonly<Record<string, string | Buffer>>, type = "Opaque"): Secret {
  const data: Record<string, string> = {};
  for (const [k, v] of Object.entries(files)) data[k] = Buffer.from(v).toString("base64");
  return { apiVersion: "v1", kind: "Secret", metadata: { name, namespace }, type, data };
}

export function secretBytes(secret: Secret, key: string): Buffer | undefined {
  const v = secret.data[key];
  return v === undefined ? undefined : Buffer.from(v, "base64");
}


/** Well-known secrets, named as Cilium names them. */
export const SECRETS = {
  namespace: "kube-system",
  ca: "cilium-ca",
  remoteCert: "clustermesh-apiserver-remote-cert",
  serverCert: "clustermesh-apiserver-server-cert",
  meshConfig: "cilium-clustermesh",
} as const;
