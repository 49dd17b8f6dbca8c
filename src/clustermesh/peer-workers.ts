import type { ClusterInfo } from "../cluster/index.js";
import type { Logger } from "../log/logger.js";
import type { ClusterConfigRecord } from "../state/index.js";
import type { ConfigCheck } from "./peer-connection.js";
import { peerConfigProblem, samePeerConfig, type PeerConfig } from "./peer-config.js";
import type { PeerProblem } from "./status.js";

/** What ClusterMesh and KvStoreMesh run per peer (a RemoteCluster, a Reflector). */
export interface PeerWorker {
  start(): void;
  restart(): void;
  recheck(): void;
  retryNow(): void;
}

export interface PeerWorkersOptions<W extends PeerWorker> {
  readonly local: ClusterInfo;
  /** A worker for `peer`; it must consult `checkConfig` on every cluster config it reads. */
  readonly create: (peer: PeerConfig, checkConfig: ConfigCheck) => W;
  /** The peer left the configuration. */
  readonly remove: (name: string, worker: W) => Promise<void>;
  /**
   * Whether a changed entry (endpoints, TLS material) restarts the peer's worker (default true).
   * False where workers never use the entry: agents reading KVStoreMesh's cache in the local etcd,
   * for which a renewed certificate of the peer is no reason to re-read anything.
   */
  readonly restartOnChange?: boolean;
  readonly logger: Logger;
}

/**
 * The set of peers a mesh manager runs, kept in step with the configuration: a worker per peer,
 * started when the peer appears, restarted when its entry changes, removed when it goes. It also
 * keeps the cluster IDs the peers' configs claim: two peers claiming one ID are both refused (it
 * cannot be told which one an identity belongs to), until one of them leaves or changes.
 */
export class PeerWorkers<W extends PeerWorker> {
  private readonly workers = new Map<string, { worker: W; config: PeerConfig }>();
  private readonly claims = new Map<string, number>();
  private problemList: PeerProblem[] = [];
  private ignoredList: string[] = [];

  constructor(private readonly options: PeerWorkersOptions<W>) {}

  /** The configuration in force for `name`: a connect factory reads it, so that a restart uses the new one. */
  configOf(name: string): PeerConfig | undefined {
    return this.workers.get(name)?.config;
  }

  get names(): string[] {
    return [...this.workers.keys()].sort();
  }

  get(name: string): W | undefined {
    return this.workers.get(name)?.worker;
  }

  all(): W[] {
    return this.names.map((n) => this.workers.get(n)!.worker);
  }

  get problems(): readonly PeerProblem[] {
    return this.problemList;
  }

  get ignored(): readonly string[] {
    return this.ignoredList;
  }

  /**
   * Makes the running set match `peers`; resolves once removed peers are gone. `context` carries
   * what an earlier stage (the secret's parser) already skipped, for the status.
   */
  async update(peers: readonly PeerConfig[], context: { problems?: readonly PeerProblem[]; ignored?: readonly string[] } = {}): Promise<void> {
    const problems = [...(context.problems ?? [])];
    const ignored = [...(context.ignored ?? [])];
    const next = new Map<string, PeerConfig>();
    for (const peer of peers) {
      if (peer?.name === this.options.local.name) {
        if (!ignored.includes(peer.name)) ignored.push(peer.name);
        continue;
      }
      const why = peerConfigProblem(peer);
      if (why !== undefined) problems.push({ peer: String(peer?.name ?? ""), message: why });
      else if (next.has(peer.name)) problems.push({ peer: peer.name, message: `peer ${peer.name} is configured twice; the first entry is used` });
      else next.set(peer.name, peer);
    }
    this.problemList = problems;
    this.ignoredList = ignored;

    const removals: Promise<void>[] = [];
    for (const [name, entry] of [...this.workers]) {
      if (next.has(name)) continue;
      this.workers.delete(name);
      this.releaseClaim(name);
      this.options.logger.info({ peer: name }, "remote cluster removed from the configuration");
      removals.push(this.options.remove(name, entry.worker));
    }
    for (const [name, peer] of next) {
      const entry = this.workers.get(name);
      if (entry === undefined) {
        const worker = this.options.create(peer, (config) => this.check(name, config));
        this.workers.set(name, { worker, config: peer });
        this.options.logger.info({ peer: name, endpoints: peer.endpoints }, "remote cluster added");
        worker.start();
      } else if (!samePeerConfig(entry.config, peer)) {
        entry.config = peer;
        if (this.options.restartOnChange === false) {
          this.options.logger.debug({ peer: name }, "remote cluster configuration changed; its state is read from elsewhere, so nothing restarts");
          continue;
        }
        this.options.logger.info({ peer: name, endpoints: peer.endpoints }, "remote cluster configuration changed; reconnecting");
        entry.worker.restart();
      }
    }
    await Promise.all(removals);
  }

  /** Forgets every worker, stopping each with `stop`. */
  async clear(stop: (worker: W) => Promise<void>): Promise<void> {
    const workers = [...this.workers.values()].map((e) => e.worker);
    this.workers.clear();
    this.claims.clear();
    await Promise.all(workers.map(stop));
  }

  private check(name: string, config: ClusterConfigRecord): string | undefined {
    if (!this.workers.has(name)) return undefined;
    const previous = this.claims.get(name);
    this.claims.set(name, config.id);
    if (previous !== undefined && previous !== config.id) this.wakeClaimants(previous, name);
    const others = [...this.claims]
      .filter(([n, id]) => n !== name && id === config.id && this.workers.has(n))
      .map(([n]) => n)
      .sort();
    if (others.length === 0) return undefined;
    // Asynchronously: a worker calls this from inside its own connection loop.
    for (const other of others) queueMicrotask(() => this.workers.get(other)?.worker.recheck());
    return `its cluster ID ${config.id} is also claimed by remote cluster${others.length > 1 ? "s" : ""} ${others.join(", ")}: cluster IDs must be unique in a mesh`;
  }

  private releaseClaim(name: string): void {
    const id = this.claims.get(name);
    this.claims.delete(name);
    if (id !== undefined) this.wakeClaimants(id, name);
  }

  private wakeClaimants(id: number, except: string): void {
    for (const [n, claimed] of this.claims) if (claimed === id && n !== except) this.workers.get(n)?.worker.retryNow();
  }
}
