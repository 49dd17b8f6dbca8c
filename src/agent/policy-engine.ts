import { backoffDelay, resolveBackoff, type Backoff, type BackoffOptions } from "../clustermesh/backoff.js";
import { IDENTITY_HEALTH, IDENTITY_HOST, IDENTITY_REMOTE_NODE, identityAsSeenFromPeer, isGlobalIdentity } from "../cluster/index.js";
import type { Datapath, EndpointPolicyRules, NodePolicyState, PolicyDirectionRules, PolicyReconcileReport } from "../datapath/types.js";
import type { KvStore } from "../kvstore/kvstore.js";
import { ListWatcher, type ListWatchEvent } from "../kvstore/list-watch.js";
import type { Logger } from "../log/logger.js";
import {
  CCNP_KIND,
  CNP_KIND,
  PolicyResolver,
  parseNetworkPolicy,
  type DirectionPolicy,
  type EndpointPolicy,
  type IdentityCache,
  type NetworkPolicy,
  type PolicyContext,
  type PolicyKind,
} from "../policy/index.js";
import { parseClusterSettings } from "../resources/cluster-settings.js";
import { keys } from "../resources/keys.js";
import type { IpcacheEntry } from "../state/index.js";
import { parseLabel, type Label } from "../state/labels.js";
import { tryParseIpv4 } from "../util/ipv4.js";
import type { Endpoint } from "./api-types.js";
import type { KnownNode } from "./node-cache.js";

/**
 * Keeps the node's policy table in step with its cluster: follows the policies (trellis/policies/,
 * trellis/clusterwide-policies/), the policy-default-local-cluster setting, the identities (local
 * and remote), the ipcache (local, remote, and the nodes' own addresses) and the node's endpoints,
 * and hands the datapath one NodePolicyState at a time.
 *
 * Resolving (policies x identities -> key sets per endpoint) happens only when policies, identities,
 * endpoints or the setting change; an ipcache change (a pod started elsewhere) rebuilds only the
 * address map and reuses the key sets. Changes are coalesced (`debounceMs`) and applied one reconcile
 * at a time; a failed reconcile is retried with backoff until one succeeds.
 */

/** What the engine reads from the agent; every function returns the current view. */
export interface PolicySources {
  /** The pods on this node. */
  readonly endpoints: () => readonly Endpoint[];
  /** This cluster's identities. */
  readonly localIdentities: () => IdentityCache;
  /** Identities of connected clusters; a disconnected cluster's are gone. */
  readonly remoteIdentities: () => Iterable<{ readonly id: number; readonly labels: readonly Label[]; readonly cluster: string }>;
  /** This cluster's ipcache entries (its kvstore). */
  readonly localIpcache: () => Iterable<IpcacheEntry>;
  /** Connected clusters' ipcache entries. */
  readonly remoteIpcache: () => Iterable<IpcacheEntry>;
  /** Every node known, this one included, local and remote. */
  readonly nodes: () => readonly KnownNode[];
}

export interface PolicyEngineOptions {
  /** The cluster's own kvstore: policies and settings are read from it. */
  readonly store: KvStore;
  readonly cluster: string;
  readonly nodeName: string;
  readonly datapath: Datapath;
  readonly sources: PolicySources;
  readonly logger: Logger;
  /** How long to gather changes before reconciling (default 50 ms). */
  readonly debounceMs?: number;
  /** Waits between retries of a failed reconcile (default 200 ms doubling to 10 s). */
  readonly backoff?: BackoffOptions;
  /**
   * Resolves true once every remote cluster's identities and endpoints are listed, false when it
   * gave up waiting (Cilium's clustermesh-sync-timeout). The first reconcile waits for it: after
   * an agent restart the kernel still enforces what the last run applied, and a reconcile before
   * the remote identities are back would drop every flow a rule admits from another cluster.
   */
  readonly remoteSync?: () => Promise<boolean>;
}

/** A policy as stored, with what the agent made of it. */
export interface StoredPolicy {
  readonly key: string;
  readonly kind: PolicyKind;
  readonly name: string;
  readonly namespace?: string;
  /** The document as applied. */
  readonly document: unknown;
  /** Undefined when the stored document is not valid (then `error` says why, and it is not enforced). */
  readonly policy?: NetworkPolicy;
  readonly error?: string;
}

export interface PolicyEngineStatus {
  /** Counts changes to the policy repository (policies and the setting), as Cilium's policy revision. */
  readonly revision: number;
  readonly defaultLocalCluster: boolean;
  readonly policies: number;
  readonly invalidPolicies: number;
  /** Times the endpoints' policies were computed. */
  readonly resolves: number;
  readonly reconciles: number;
  readonly failures: number;
  /** A change is waiting to reach the kernel. */
  readonly pending: boolean;
  readonly lastAt?: string;
  readonly lastError?: string;
  readonly lastReport?: PolicyReconcileReport;
}

interface Resolved {
  readonly endpoint: Endpoint;
  readonly policy: EndpointPolicy;
}

type Waiter = { resolve: (r: PolicyReconcileReport) => void; reject: (e: Error) => void };

const SETTINGS_KEY = keys.clusterSettings();

export class PolicyEngine {
  private readonly policies = new Map<string, StoredPolicy>();
  private readonly watchers: ListWatcher[] = [];
  private readonly debounceMs: number;
  private readonly backoff: Backoff;
  private defaultLocalCluster = true;
  private revision = 0;
  private resolved = new Map<string, Resolved>();
  private resolveNeeded = true;
  private pending = true;
  private running = false;
  private started = false;
  private stopped = false;
  private isReady = false;
  /** The first reconcile waits for the remote clusters (options.remoteSync). */
  private remoteGateOpen = false;
  private timer: NodeJS.Timeout | undefined;
  private waiters: Waiter[] = [];
  private consecutiveFailures = 0;
  private resolves = 0;
  private reconciles = 0;
  private failures = 0;
  private last: { at?: Date; error?: string; report?: PolicyReconcileReport } = {};

  constructor(private readonly o: PolicyEngineOptions) {
    this.debounceMs = o.debounceMs ?? 50;
    this.backoff = resolveBackoff({ initialMs: 200, maxMs: 10_000, ...o.backoff });
  }

  /** Starts following policies and settings; reconciles begin once both are listed (see ready()). */
  start(): void {
    if (this.started) return;
    this.started = true;
    const log = this.o.logger;
    for (const prefix of [keys.policies(), keys.clusterwidePolicies()]) {
      this.watchers.push(new ListWatcher(this.o.store, prefix, (e) => this.onPolicyEvent(e), { logger: log.child({ component: "policy-watch" }) }));
    }
    // A prefix watch on "trellis/config/cluster" also sees "trellis/config/clustermesh": only the exact key counts.
    this.watchers.push(new ListWatcher(this.o.store, SETTINGS_KEY, (e) => this.onSettingsEvent(e), { logger: log.child({ component: "settings-watch" }) }));
  }

  /** Resolves once policies and settings are listed; nothing is reconciled before, so a restart never applies an empty policy. */
  async ready(): Promise<void> {
    await Promise.all(this.watchers.map((w) => w.waitSynced()));
    if (this.stopped) return;
    this.isReady = true;
    const remoteSync = this.o.remoteSync;
    if (!remoteSync) {
      this.remoteGateOpen = true;
      this.schedule(0);
      return;
    }
    // Not awaited: the agent starts serving meanwhile; syncs (a CNI ADD's among them) wait for the gate.
    void remoteSync()
      .catch((e: Error) => {
        this.o.logger.warn({ err: e.message }, "could not wait for the remote clusters");
        return false;
      })
      .then((synced) => {
        if (!synced) this.o.logger.warn("remote clusters are not all synced; applying policy without waiting longer (rules naming their workloads match them once they are)");
        this.remoteGateOpen = true;
        this.schedule(0);
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.all(this.watchers.map((w) => w.stop()));
    const e = new Error("the agent is stopping; policy was not applied");
    for (const w of this.waiters.splice(0)) w.reject(e);
  }

  /** Identities (local or remote) changed: the key sets are recomputed. */
  identitiesChanged(): void {
    this.resolveChanged();
  }

  /** The node's endpoints changed: the key sets are recomputed. */
  endpointsChanged(): void {
    this.resolveChanged();
  }

  /** An address changed identity, appeared or went (pods, nodes): only the address map is rebuilt. */
  ipcacheChanged(): void {
    this.changed();
  }

  /**
   * Applies the current view now and resolves once a reconcile that started after this call has
   * succeeded (a new pod's policy is in the kernel); rejects when that reconcile fails.
   */
  sync(): Promise<PolicyReconcileReport> {
    if (this.stopped) return Promise.reject(new Error("the agent is stopping; policy was not applied"));
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.pending = true;
      this.schedule(0);
    });
  }

  /** Every stored policy, sorted by key (namespaced ones, then clusterwide ones by name). */
  storedPolicies(): StoredPolicy[] {
    return [...this.policies.values()].sort((a, b) => a.key.localeCompare(b.key));
  }

  /** The last computed policy of one of this node's endpoints. */
  endpointPolicy(containerId: string): EndpointPolicy | undefined {
    return this.resolved.get(containerId)?.policy;
  }

  /** What trace evaluates against: this cluster's valid policies, identities and option. */
  context(): PolicyContext {
    return {
      policies: this.validPolicies(),
      identities: this.identityCache(),
      options: { localCluster: this.o.cluster, defaultLocalCluster: this.defaultLocalCluster },
    };
  }

  status(): PolicyEngineStatus {
    const all = [...this.policies.values()];
    return {
      revision: this.revision,
      defaultLocalCluster: this.defaultLocalCluster,
      policies: all.length,
      invalidPolicies: all.filter((p) => p.policy === undefined).length,
      resolves: this.resolves,
      reconciles: this.reconciles,
      failures: this.failures,
      pending: this.pending || this.running || this.timer !== undefined,
      lastAt: this.last.at?.toISOString(),
      lastError: this.last.error,
      lastReport: this.last.report,
    };
  }

  /** "not-ready" while the last reconcile failed, "regenerating" while a change waits, else "ready". */
  health(): "ready" | "regenerating" | "not-ready" {
    if (this.consecutiveFailures > 0) return "not-ready";
    return this.pending || this.running || this.timer !== undefined || !this.isReady ? "regenerating" : "ready";
  }

  /** The state the kernel should enforce now; re-resolves only when something policy depends on changed. */
  desiredState(): NodePolicyState {
    if (this.resolveNeeded) {
      this.resolveNeeded = false;
      try {
        this.resolveAll();
      } catch (e) {
        this.resolveNeeded = true;
        throw e;
      }
    }
    const endpoints: EndpointPolicyRules[] = [];
    for (const { endpoint, policy } of this.resolved.values()) {
      if (!subjectToPolicy(policy.ingress) && !subjectToPolicy(policy.egress)) continue;
      endpoints.push({ hostIfName: endpoint.hostIfName, ip: endpoint.ip, ingress: rules(policy.ingress), egress: rules(policy.egress) });
    }
    return { ipcache: this.ipcache(), endpoints };
  }

  private resolveChanged(): void {
    this.resolveNeeded = true;
    this.changed();
  }

  private changed(): void {
    this.pending = true;
    this.schedule(this.debounceMs);
  }

  private schedule(delayMs: number): void {
    if (this.stopped || !this.isReady || !this.remoteGateOpen) return;
    if (this.running) return; // the running loop picks the change up
    if (this.timer) {
      if (delayMs > 0) return; // already due
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.loop();
    }, delayMs);
  }

  private async loop(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    let retryIn: number | undefined;
    try {
      while (this.pending && !this.stopped) {
        this.pending = false;
        const batch = this.waiters.splice(0);
        try {
          const report = await this.o.datapath.reconcilePolicy(this.desiredState());
          this.reconciles++;
          this.last = { at: new Date(), report };
          if (report.problems.length > 0) throw new Error(report.problems.map((p) => p.message).join("; "));
          this.consecutiveFailures = 0;
          for (const w of batch) w.resolve(report);
        } catch (e) {
          const error = e as Error;
          this.failures++;
          this.last = { ...this.last, at: new Date(), error: error.message };
          retryIn = backoffDelay(this.backoff, this.consecutiveFailures++);
          this.o.logger.error({ err: error.message, retryInMs: retryIn }, "policy could not be applied to the kernel; retrying");
          for (const w of batch) w.reject(new Error(`policy could not be applied: ${error.message}`));
          this.pending = true;
          break;
        }
      }
    } finally {
      this.running = false;
    }
    if (this.stopped) return;
    if (retryIn !== undefined) this.schedule(retryIn);
    else if (this.pending) this.schedule(0);
  }

  private resolveAll(): void {
    this.resolves++;
    const resolver = new PolicyResolver(this.validPolicies(), this.identityCache(), { localCluster: this.o.cluster, defaultLocalCluster: this.defaultLocalCluster });
    const next = new Map<string, Resolved>();
    for (const endpoint of this.o.sources.endpoints()) {
      next.set(endpoint.containerId, { endpoint, policy: resolver.resolve(endpoint.labels.map(parseLabel)) });
    }
    this.resolved = next;
  }

  private validPolicies(): NetworkPolicy[] {
    return this.storedPolicies().flatMap((p) => (p.policy ? [p.policy] : []));
  }

  private identityCache(): IdentityCache {
    const all = new Map(this.o.sources.localIdentities());
    for (const r of this.o.sources.remoteIdentities()) all.set(r.id, r.labels);
    return all;
  }

  /**
   * Address -> identity. Later sources win: remote clusters' entries, then this cluster's, then this
   * node's pods, then the nodes' own addresses (this node is host, every other node remote-node), so
   * a node address is never taken for a pod's.
   */
  private ipcache(): Map<string, number> {
    const out = new Map<string, number>();
    const hostEntry = (e: IpcacheEntry) => (e.prefixLength === undefined || e.prefixLength === 32) && tryParseIpv4(e.ip) !== undefined && isGlobalIdentity(e.identity);
    for (const e of this.o.sources.remoteIpcache()) if (hostEntry(e)) out.set(e.ip, identityAsSeenFromPeer(e.identity));
    const self = this.o.sources.nodes().find((n) => n.cluster === this.o.cluster && n.name === this.o.nodeName);
    for (const e of this.o.sources.localIpcache()) {
      if (!hostEntry(e)) continue;
      // Another node's own address published as host is, from here, a remote node.
      out.set(e.ip, e.identity === IDENTITY_HOST && e.hostIp !== self?.nodeIP ? IDENTITY_REMOTE_NODE : e.identity);
    }
    // This node's pods before their entries come back through the kvstore watch: a new pod is known from its CNI ADD on.
    for (const ep of this.o.sources.endpoints()) out.set(ep.ip, ep.identity);
    for (const n of this.o.sources.nodes()) {
      if (n.healthIP && !out.has(n.healthIP) && tryParseIpv4(n.healthIP) !== undefined) out.set(n.healthIP, IDENTITY_HEALTH);
      const identity = n === self ? IDENTITY_HOST : IDENTITY_REMOTE_NODE;
      for (const a of n.record.ipAddresses) if (tryParseIpv4(a.ip) !== undefined) out.set(a.ip, identity);
    }
    return out;
  }

  private onPolicyEvent(e: ListWatchEvent): void {
    if (e.type === "synced") return;
    if (e.type === "delete") {
      if (!this.policies.delete(e.key)) return;
      this.o.logger.info({ policy: e.key }, "policy deleted");
    } else {
      const stored = readPolicy(e.kv.key, e.kv.value.toString());
      this.policies.set(e.kv.key, stored);
      if (stored.error) this.o.logger.warn({ policy: e.kv.key, err: stored.error }, "stored policy is not valid; it is not enforced");
      else this.o.logger.info({ policy: e.kv.key }, "policy applied");
    }
    this.revision++;
    this.resolveChanged();
  }

  private onSettingsEvent(e: ListWatchEvent): void {
    if (e.type !== "upsert" || e.kv.key !== SETTINGS_KEY) return;
    let value: boolean;
    try {
      value = parseClusterSettings(e.kv.value.toString()).policyDefaultLocalCluster ?? true;
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, "cluster settings unreadable; policy keeps its current policyDefaultLocalCluster");
      return;
    }
    if (value === this.defaultLocalCluster) return;
    this.defaultLocalCluster = value;
    this.revision++;
    this.o.logger.info({ policyDefaultLocalCluster: value }, "policy default for selectors without a cluster label changed");
    this.resolveChanged();
  }
}

/** An endpoint is given to the datapath only when policy changes something for it. */
function subjectToPolicy(d: DirectionPolicy): boolean {
  return d.enforced || d.deny.size > 0;
}

function rules(d: DirectionPolicy): PolicyDirectionRules {
  return { enforced: d.enforced, allow: d.allow, deny: d.deny };
}

function readPolicy(key: string, text: string): StoredPolicy {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { ...nameFromKey(key), key, document: text, error: "the stored value is not JSON; apply the policy again" };
  }
  try {
    const policy = parseNetworkPolicy(doc);
    return { key, kind: policy.kind, name: policy.name, ...(policy.namespace === undefined ? {} : { namespace: policy.namespace }), document: doc, policy };
  } catch (e) {
    return { ...nameFromKey(key), key, document: doc, error: (e as Error).message };
  }
}

function nameFromKey(key: string): { kind: PolicyKind; name: string; namespace?: string } {
  if (key.startsWith(keys.clusterwidePolicies())) return { kind: CCNP_KIND, name: key.slice(keys.clusterwidePolicies().length) };
  const [namespace = "", name = ""] = key.slice(keys.policies().length).split("/");
  return { kind: CNP_KIND, name, namespace };
}
