import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { parse, stringify } from "yaml";
import { z } from "zod";

/**
 * The user's Trellis config file: contexts and a current-context, like a kubeconfig. Each context
 * says how to reach one cluster: its kvstore (etcd, with the admin client certificate) and the
 * directory where its daemons keep sockets and logs. Location: $TRELLIS_CONFIG, else ~/.trellis/config.
 */
const kvstoreSchema = z.object({
  endpoints: z.array(z.string().min(1)).min(1),
  "trusted-ca-file": z.string().optional(),
  "cert-file": z.string().optional(),
  "key-file": z.string().optional(),
});

const contextSchema = z.object({
  name: z.string().min(1),
  context: z.object({
    cluster: z.string().min(1),
    kvstore: kvstoreSchema,
    "state-dir": z.string().min(1),
  }),
});

const configSchema = z.object({
  apiVersion: z.literal("trellis.io/v1"),
  kind: z.literal("Config"),
  "current-context": z.string().optional(),
  contexts: z.array(contextSchema),
});

export type ContextEntry = z.infer<typeof contextSchema>;
export type TrellisConfig = z.infer<typeof configSchema>;

export class ConfigFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigFileError";
  }
}

export function configPath(): string {
  return process.env.TRELLIS_CONFIG || join(homedir(), ".trellis", "config");
}

export function emptyConfig(): TrellisConfig {
  return { apiVersion: "trellis.io/v1", kind: "Config", contexts: [] };
}

export function loadConfig(path = configPath()): TrellisConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return emptyConfig();
    throw new ConfigFileError(`cannot read ${path}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (e) {
    throw new ConfigFileError(`${path} is not valid YAML: ${(e as Error).message}`);
  }
  const r = configSchema.safeParse(raw ?? emptyConfig());
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new ConfigFileError(`${path}: ${issue.path.join(".") || "(top level)"}: ${issue.message}; fix or remove the file`);
  }
  return r.data;
}

/** Writes atomically so a crash never leaves a half-written config. */
export function saveConfig(config: TrellisConfig, path = configPath()): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, stringify(config), { mode: 0o600 });
  renameSync(tmp, path);
}

export function upsertContext(config: TrellisConfig, entry: ContextEntry, options: { makeCurrent?: boolean } = {}): TrellisConfig {
  const contexts = config.contexts.filter((c) => c.name !== entry.name);
  contexts.push(entry);
  contexts.sort((a, b) => a.name.localeCompare(b.name));
  const current = options.makeCurrent || !config["current-context"] ? entry.name : config["current-context"];
  return { ...config, contexts, "current-context": current };
}

export function removeContexts(config: TrellisConfig, names: ReadonlySet<string>): TrellisConfig {
  const contexts = config.contexts.filter((c) => !names.has(c.name));
  const cur = config["current-context"];
  const current = cur && !names.has(cur) ? cur : contexts[0]?.name;
  const out: TrellisConfig = { ...config, contexts };
  if (current) out["current-context"] = current;
  else delete out["current-context"];
  return out;
}

/** The context named by --context, else the current one; errors list what exists. */
export function resolveContext(config: TrellisConfig, name?: string): ContextEntry {
  const wanted = name ?? config["current-context"];
  const known = config.contexts.map((c) => c.name);
  if (!wanted) {
    throw new ConfigFileError(
      known.length
        ? `no context given and no current-context set: pass --context (one of: ${known.join(", ")})`
        : `no contexts configured in ${configPath()}: run "trellis lab up" to create a lab mesh`,
    );
  }
  const found = config.contexts.find((c) => c.name === wanted);
  if (!found) {
    throw new ConfigFileError(`context "${wanted}" not found in ${configPath()}` + (known.length ? `; known contexts: ${known.join(", ")}` : "; run \"trellis lab up\" first"));
  }
  return found;
}
