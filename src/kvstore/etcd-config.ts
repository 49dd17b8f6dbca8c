import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { parse as parseYaml } from "yaml";

/** How to reach one etcd cluster. PEM material is given inline (loadEtcdConfigFile reads the files). */
export interface EtcdConfig {
  /** Client URLs, `https://host:port` or `http://host:port`. */
  readonly endpoints: readonly string[];
  readonly tls?: {
    /** CA bundle (PEM) the server certificate must chain to. */
    readonly ca: string | Buffer;
    /** Client certificate and key (PEM), for etcd's client-certificate auth. Both or neither. */
    readonly cert?: string | Buffer;
    readonly key?: string | Buffer;
  };
  readonly auth?: { readonly username: string; readonly password: string };
  /** How long EtcdStore.connect() waits for a first answer (default 5000 ms). */
  readonly dialTimeoutMs?: number;
}

export class EtcdConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "EtcdConfigError";
  }
}

/** Checks a config before use; throws EtcdConfigError naming the field and the value given. */
export function validateEtcdConfig(config: EtcdConfig, source = "etcd config"): void {
  if (!Array.isArray(config.endpoints) || config.endpoints.length === 0) {
    throw new EtcdConfigError(`${source}: "endpoints" must list at least one URL such as https://etcd.example:2379 (got ${JSON.stringify(config.endpoints)})`);
  }
  const schemes = new Set<string>();
  for (const endpoint of config.endpoints) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new EtcdConfigError(`${source}: endpoint ${JSON.stringify(endpoint)} is not a URL; write it as https://host:port`);
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new EtcdConfigError(`${source}: endpoint ${JSON.stringify(endpoint)} must start with https:// or http://`);
    }
    if (!url.port) throw new EtcdConfigError(`${source}: endpoint ${JSON.stringify(endpoint)} has no port; etcd's client port is usually 2379`);
    if (url.pathname !== "/" && url.pathname !== "") throw new EtcdConfigError(`${source}: endpoint ${JSON.stringify(endpoint)} must not have a path`);
    schemes.add(url.protocol);
  }
  if (schemes.size > 1) throw new EtcdConfigError(`${source}: endpoints mix https:// and http:// (${config.endpoints.join(", ")}); use one scheme`);
  if (config.tls) {
    if (schemes.has("http:")) throw new EtcdConfigError(`${source}: TLS material is given but the endpoints use http:// (${config.endpoints.join(", ")}); use https://`);
    if (!config.tls.ca || !String(config.tls.ca).includes("-----BEGIN")) throw new EtcdConfigError(`${source}: the trusted CA is not PEM (expected -----BEGIN CERTIFICATE-----)`);
    if (!config.tls.cert !== !config.tls.key) throw new EtcdConfigError(`${source}: a client certificate needs both the certificate and its key (got only the ${config.tls.cert ? "certificate" : "key"})`);
    if (config.tls.cert && !String(config.tls.cert).includes("-----BEGIN")) throw new EtcdConfigError(`${source}: the client certificate is not PEM`);
    if (config.tls.key && !String(config.tls.key).includes("-----BEGIN")) throw new EtcdConfigError(`${source}: the client key is not PEM`);
  }
  if (config.auth && (!config.auth.username || typeof config.auth.password !== "string")) {
    throw new EtcdConfigError(`${source}: auth needs a username and a password (got username ${JSON.stringify(config.auth.username)})`);
  }
  if (config.dialTimeoutMs !== undefined && !(Number.isFinite(config.dialTimeoutMs) && config.dialTimeoutMs > 0)) {
    throw new EtcdConfigError(`${source}: dialTimeoutMs must be a positive number of milliseconds (got ${config.dialTimeoutMs})`);
  }
}

/** Go duration ("5s", "1m30s", "250ms") or a number of nanoseconds, as etcd's client config accepts. */
function parseDialTimeout(value: unknown, source: string): number {
  if (typeof value === "number" && value > 0) return value / 1e6;
  if (typeof value === "string") {
    const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 1e-3, "µs": 1e-3, ns: 1e-6 };
    const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g)];
    if (parts.length && parts.map((p) => p[0]).join("") === value) {
      const ms = parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]!]!, 0);
      if (ms > 0) return ms;
    }
  }
  throw new EtcdConfigError(`${source}: dial-timeout must be a duration such as "5s" (got ${JSON.stringify(value)})`);
}

/**
 * Reads an etcd client config file in the format Cilium uses for --kvstore-opt etcd.config and for
 * clustermesh (etcd's YAML client config): `endpoints:` list, `trusted-ca-file` (or the older
 * `ca-file`), `cert-file`, `key-file`, optional `username`/`password` and `dial-timeout`. Relative
 * file paths are taken from the config file's directory. The certificate files are read here.
 */
export async function loadEtcdConfigFile(path: string): Promise<EtcdConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new EtcdConfigError(`cannot read etcd config file ${path}: ${(e as Error).message}`, { cause: e });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new EtcdConfigError(`etcd config file ${path} is not valid YAML: ${(e as Error).message}`, { cause: e });
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new EtcdConfigError(`etcd config file ${path} must be a YAML mapping with an "endpoints:" list (got ${doc === null ? "an empty file" : typeof doc})`);
  }
  const raw = doc as Record<string, unknown>;
  const source = `etcd config file ${path}`;

  const endpoints = raw.endpoints;
  if (!Array.isArray(endpoints) || endpoints.some((e) => typeof e !== "string")) {
    throw new EtcdConfigError(`${source}: "endpoints" must be a list of URLs such as "- https://etcd.example:2379" (got ${JSON.stringify(endpoints)})`);
  }
  const str = (field: string): string | undefined => {
    const v = raw[field];
    if (v === undefined || v === null || v === "") return undefined;
    if (typeof v !== "string") throw new EtcdConfigError(`${source}: "${field}" must be a string (got ${JSON.stringify(v)})`);
    return v;
  };
  if (raw["insecure-skip-tls-verify"] === true) {
    throw new EtcdConfigError(`${source}: insecure-skip-tls-verify is not supported; give the server's CA as trusted-ca-file`);
  }
  const insecureTransport = raw["insecure-transport"] === true;
  const caFile = str("trusted-ca-file") ?? str("ca-file");
  const certFile = str("cert-file");
  const keyFile = str("key-file");
  if (!certFile !== !keyFile) {
    throw new EtcdConfigError(`${source}: cert-file and key-file go together (got only ${certFile ? `cert-file ${certFile}` : `key-file ${keyFile}`})`);
  }
  const base = dirname(resolve(path));
  const readPem = async (field: string, file: string): Promise<Buffer> => {
    const full = resolve(base, file);
    try {
      return await readFile(full);
    } catch (e) {
      throw new EtcdConfigError(`${source}: cannot read ${field} ${full}: ${(e as Error).message}`, { cause: e });
    }
  };

  let tls: EtcdConfig["tls"];
  const secure = (endpoints as string[]).some((e) => e.startsWith("https://"));
  if (!insecureTransport && secure) {
    if (!caFile) throw new EtcdConfigError(`${source}: https endpoints need trusted-ca-file (the CA that signed the etcd server certificate)`);
    tls = {
      ca: await readPem("trusted-ca-file", caFile),
      ...(certFile && keyFile ? { cert: await readPem("cert-file", certFile), key: await readPem("key-file", keyFile) } : {}),
    };
  }
  const username = str("username");
  const password = raw.password === undefined || raw.password === null ? undefined : String(raw.password);
  if (username === undefined && password !== undefined) throw new EtcdConfigError(`${source}: password is given without a username`);

  const config: EtcdConfig = {
    endpoints: endpoints as string[],
    ...(tls ? { tls } : {}),
    ...(username !== undefined ? { auth: { username, password: password ?? "" } } : {}),
    ...(raw["dial-timeout"] !== undefined ? { dialTimeoutMs: parseDialTimeout(raw["dial-timeout"], source) } : {}),
  };
  validateEtcdConfig(config, source);
  return config;
}
