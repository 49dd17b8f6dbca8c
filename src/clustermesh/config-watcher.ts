import type { KvStore } from "../kvstore/index.js";
import { ListWatcher, type ListWatchOptions } from "../kvstore/index.js";
import { subsystemLogger, type Logger } from "../log/logger.js";
import { MESH_SECRET_KEY, decodeSecret, parseMeshSecret, type MeshSecretParse } from "./mesh-secret.js";

export interface MeshConfig extends MeshSecretParse {
  /** The secret exists. */
  readonly present: boolean;
  /**
   * The secret as a whole could not be read (not JSON, not a Secret). The peers are then the last
   * ones read from a good version, so a botched edit does not disconnect the mesh.
   */
  readonly documentProblem?: string;
}

export interface ConfigWatcherOptions {
  /** Entries naming this cluster are ignored. */
  readonly localCluster: string;
  /** Called once the secret has been read (present or not), then on every change. */
  readonly onChange: (config: MeshConfig) => void;
  /** Default: trellis/secrets/kube-system/cilium-clustermesh. */
  readonly key?: string;
  readonly listWatch?: ListWatchOptions;
  readonly logger?: Logger;
}

/** Follows the mesh secret in the local store and tells its owner the peers to connect to. */
export class ConfigWatcher {
  private readonly key: string;
  private readonly log: Logger;
  private readonly watcher: ListWatcher;
  private latest: MeshConfig | undefined;
  private lastGood: MeshSecretParse = { peers: [], ignored: [], problems: [] };
  private pending: { value: Buffer } | undefined;
  private listed = false;

  constructor(
    store: KvStore,
    private readonly options: ConfigWatcherOptions,
  ) {
    this.key = options.key ?? MESH_SECRET_KEY;
    this.log = options.logger ?? subsystemLogger("clustermesh", { component: "config-watcher" });
    // A prefix watch on the key also sees keys that merely start with it (…/cilium-clustermesh-x).
    this.watcher = new ListWatcher(
      store,
      this.key,
      (e) => {
        if (e.type === "synced") {
          this.listed = true;
          this.apply(this.pending);
        } else if ((e.type === "upsert" ? e.kv.key : e.key) === this.key) {
          const next = e.type === "upsert" ? { value: e.kv.value } : undefined;
          if (this.listed) this.apply(next);
          else this.pending = next;
        }
      },
      { ...options.listWatch, logger: this.log },
    );
  }

  get synced(): boolean {
    return this.latest !== undefined;
  }

  waitSynced(): Promise<void> {
    return this.watcher.waitSynced();
  }

  /** The configuration last emitted. */
  current(): MeshConfig | undefined {
    return this.latest;
  }

  async stop(): Promise<void> {
    await this.watcher.stop();
  }

  private apply(secret: { value: Buffer } | undefined): void {
    let config: MeshConfig;
    if (secret === undefined) {
      this.lastGood = { peers: [], ignored: [], problems: [] };
      config = { present: false, ...this.lastGood };
    } else {
      try {
        const doc = decodeSecret(this.key, secret.value);
        this.lastGood = parseMeshSecret(doc.data, this.options.localCluster);
        config = { present: true, ...this.lastGood };
      } catch (e) {
        const problem = (e as Error).message;
        this.log.error({ key: this.key, err: problem }, "mesh secret unreadable; keeping the peers from its last good version");
        config = { present: true, ...this.lastGood, documentProblem: problem };
      }
    }
    for (const p of config.problems) this.log.warn({ peer: p.peer, err: p.message }, "mesh secret entry skipped");
    this.latest = config;
    try {
      this.options.onChange(config);
    } catch (e) {
      this.log.error({ err: (e as Error).message }, "mesh config consumer threw");
    }
  }
}
