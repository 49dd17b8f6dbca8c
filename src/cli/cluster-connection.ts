import { readFileSync } from "node:fs";
import { EtcdStore } from "../kvstore/etcd-store.js";
import { parseClusterSettings, type ClusterSettings } from "../resources/cluster-settings.js";
import { keys } from "../resources/keys.js";
import { loadConfig, resolveContext, type ContextEntry } from "./config-file.js";
import { UserError } from "./user-error.js";

/** The cluster a command works on: its context, an admin kvstore client, and its settings. */
export interface ClusterConnection {
  readonly context: ContextEntry;
  readonly store: EtcdStore;
  close(): Promise<void>;
  settings(): Promise<ClusterSettings>;
}

function readPem(path: string | undefined, what: string, ctx: string): string | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new UserError(`context "${ctx}": cannot read the ${what} ${path}: ${(e as Error).message}`);
  }
}

export function connect(contextName?: string): ClusterConnection {
  const context = resolveContext(loadConfig(), contextName);
  const kv = context.context.kvstore;
  const ca = readPem(kv["trusted-ca-file"], "trusted CA", context.name);
  const store = new EtcdStore(
    {
      endpoints: kv.endpoints,
      ...(ca ? { tls: { ca, cert: readPem(kv["cert-file"], "client certificate", context.name), key: readPem(kv["key-file"], "client key", context.name) } } : {}),
      dialTimeoutMs: 5000,
    },
    { requestTimeoutMs: 10_000 },
  );
  return {
    context,
    store,
    close: () => store.close(),
    settings: async () => {
      const v = await store.get(keys.clusterSettings()).catch((e: Error) => {
        throw new UserError(`cannot reach the kvstore of context "${context.name}" at ${kv.endpoints.join(", ")}: ${e.message}; is the cluster up ("trellis lab status")?`);
      });
      if (!v) throw new UserError(`cluster of context "${context.name}" is not installed: run "trellis install --context ${context.name}" (or "trellis lab up")`);
      return parseClusterSettings(v.value.toString());
    },
  };
}

/** Runs `fn` with a connection and always closes it. */
export async function withCluster<T>(contextName: string | undefined, fn: (c: ClusterConnection) => Promise<T>): Promise<T> {
  const c = connect(contextName);
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}
