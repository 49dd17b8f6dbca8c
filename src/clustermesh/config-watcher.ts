import type { KvStore } from "../kvstore/index.js";
import { ListWatcher, type ListWatchOptions } from "../kvstore/index.js";
import { subsystemLogger, type Logger } from "../log/logger.js";
import { MESH_SECRET_KEY, OWN_CERT_SECRET_KEY, decodeSecret, ownCertFiles, parseMeshSecret, type MeshSecretParse, type SecretData } from "./mesh-secret.js";

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
  /** The cluster's own remote certificate, for entries naming the common- files (default: clustermesh-apiserver-remote-cert). */
  readonly ownCertKey?: string;
  readonly listWatch?: ListWatchOptions;
  readonly logger?: Logger;
}

type Slot = { value: Buffer } | undefined;

/**
 * Follows the mesh secret in the local store, and the cluster's own remote certificate that its
 * entries may name, and tells its owner the peers to connect to. A renewed own certificate changes
 * the TLS material of the peers that use it, so their owner reconnects them with it.
 */
export class ConfigWatcher {
  private readonly key: string;
  private readonly ownCertKey: string;
  private readonly log: Logger;
  private readonly watchers: ListWatcher[];
  private latest: MeshConfig | undefined;
  private lastGood: MeshSecretParse = { peers: [], ignored: [], problems: [] };
  private lastGoodData: SecretData | undefined;
  private secret: Slot;
  private ownCert: SecretData = {};
  private readonly listed = { secret: false, ownCert: false };

  constructor(
    store: KvStore,
    private readonly options: ConfigWatcherOptions,
  ) {
    this.key = options.key ?? MESH_SECRET_KEY;
    this.ownCertKey = options.ownCertKey ?? OWN_CERT_SECRET_KEY;
    this.log = options.logger ?? subsystemLogger("clustermesh", { component: "config-watcher" });
    // A prefix watch on a key also sees keys that merely start with it (…/cilium-clustermesh-x).
    const follow = (key: string, which: keyof ConfigWatcher["listed"], set: (slot: Slot) => void) =>
      new ListWatcher(
        store,
        key,
        (e) => {
          if (e.type === "synced") {
            this.listed[which] = true;
            if (this.listed.secret && this.listed.ownCert) this.apply();
          } else if ((e.type === "upsert" ? e.kv.key : e.key) === key) {
            set(e.type === "upsert" ? { value: e.kv.value } : undefined);
            if (this.listed.secret && this.listed.ownCert) this.apply();
          }
        },
        { ...options.listWatch, logger: this.log },
      );
    this.watchers = [
      follow(this.key, "secret", (slot) => (this.secret = slot)),
      follow(this.ownCertKey, "ownCert", (slot) => this.setOwnCert(slot)),
    ];
  }

  get synced(): boolean {
    return this.latest !== undefined;
  }

  async waitSynced(): Promise<void> {
    await Promise.all(this.watchers.map((w) => w.waitSynced()));
  }

  /** The configuration last emitted. */
  current(): MeshConfig | undefined {
    return this.latest;
  }

  async stop(): Promise<void> {
    await Promise.all(this.watchers.map((w) => w.stop()));
  }

  private setOwnCert(slot: Slot): void {
    if (slot === undefined) {
      this.ownCert = {};
      return;
    }
    try {
      this.ownCert = ownCertFiles(decodeSecret(this.ownCertKey, slot.value).data);
    } catch (e) {
      this.log.error({ key: this.ownCertKey, err: (e as Error).message }, "own remote certificate unreadable; keeping the one read before");
    }
  }

  private apply(): void {
    const secret = this.secret;
    let config: MeshConfig;
    if (secret === undefined) {
      this.lastGood = { peers: [], ignored: [], problems: [] };
      this.lastGoodData = undefined;
      config = { present: false, ...this.lastGood };
    } else {
      try {
        this.lastGoodData = decodeSecret(this.key, secret.value).data;
        this.lastGood = parseMeshSecret(this.lastGoodData, this.options.localCluster, this.ownCert);
        config = { present: true, ...this.lastGood };
      } catch (e) {
        const problem = (e as Error).message;
        this.log.error({ key: this.key, err: problem }, "mesh secret unreadable; keeping the peers from its last good version");
        // ...with the own certificate as it is now, should it have been renewed meanwhile.
        if (this.lastGoodData) this.lastGood = parseMeshSecret(this.lastGoodData, this.options.localCluster, this.ownCert);
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
