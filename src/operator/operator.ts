import type { KvStore } from "../kvstore/kvstore.js";
import { ListWatcher } from "../kvstore/list-watch.js";
import { subsystemLogger, type Logger } from "../log/logger.js";
import { parseClusterSettings, type ClusterSettings } from "../resources/cluster-settings.js";
import type { Deployment } from "../resources/deployment.js";
import { podLabels, podPorts } from "../resources/deployment.js";
import { keys } from "../resources/keys.js";
import { matchesLabels } from "../resources/labels.js";
import type { PodSpec, PodStatus } from "../resources/pod.js";
import type { ServiceBackend, ServiceEndpoints } from "../resources/service-endpoints.js";
import type { Service, ServiceStatus } from "../resources/service.js";
import { applyExports, desiredExports, joinLocalServices } from "../services/index.js";
import { Syncer } from "../state/syncer.js";
import { ServiceAllocator } from "./service-allocator.js";
import { encodeClusterConfig, encodeHeartbeat } from "../state/index.js";
import { clusterConfigKey, HEARTBEAT_KEY, STATE_KINDS, syncCanaryKeyOf } from "../state/keys.js";
import { encodeSyncCanary } from "../state/sync-canary.js";
import { CertRenewal, type EtcdServerCertificate } from "./cert-renewal.js";
import { assignPodCidrs } from "./pod-cidr-allocator.js";
import { planScale } from "./scheduler.js";

export interface OperatorOptions {
  readonly store: KvStore;
  readonly heartbeatMs?: number;
  readonly logger?: Logger;
  /** etcd's server certificate, where this deployment lets the operator renew it (the lab's files). */
  readonly etcdServerCertificate?: (cluster: string) => EtcdServerCertificate | undefined;
}

/**
 * One per cluster. Cuts pod CIDRs for registered nodes, keeps every deployment at its replica
 * count spread over the nodes whose agents are up, and writes the cluster-config key and the
 * heartbeat that remote clusters read. It reconciles from watched state, so a restart simply
 * picks up where the last run left off.
 */
export class Operator {
  private readonly log: Logger;
  private settings!: ClusterSettings;
  private readonly state = new Map<string, Map<string, Buffer>>();
  private readonly watchers: ListWatcher[] = [];
  private heartbeat: NodeJS.Timeout | undefined;
  private dirty = false;
  private running = false;
  private stopped = false;
  reconciles = 0;
  private canariesWritten = false;
  /** The cluster's exported global services (cilium/state/services/v1/<cluster>/...), under one lease. */
  private exports: Syncer | undefined;
  /** Renews the mesh's certificates with tls.auto (cert-renewal.ts). */
  private certRenewal: CertRenewal | undefined;

  constructor(private readonly options: OperatorOptions) {
    this.log = options.logger ?? subsystemLogger("operator");
  }

  async start(): Promise<void> {
    const { store } = this.options;
    for (;;) {
      const kv = await store.get(keys.clusterSettings()).catch(() => undefined);
      if (kv) {
        this.settings = parseClusterSettings(kv.value.toString());
        break;
      }
      this.log.info("waiting for the cluster settings (trellis/config/cluster)");
      await new Promise((r) => setTimeout(r, 500));
    }
    const { name, id, maxConnectedClusters } = this.settings;
    await store.put(clusterConfigKey(name), encodeClusterConfig({ cluster: name, id, capabilities: { syncedCanaries: true, cached: false, maxConnectedClusters } }));
    await this.beat();
    this.heartbeat = setInterval(() => void this.beat(), this.options.heartbeatMs ?? 60_000);

    const prefixes = [
      keys.nodeRegistrations(),
      keys.nodeCIDRs(),
      keys.deployments(),
      keys.pods(),
      `cilium/state/nodes/v1/${name}/`,
      keys.podStatuses(),
      keys.services(),
      keys.serviceStatuses(),
      keys.serviceEndpointsAll(),
      keys.agentStatuses(),
    ];
    for (const prefix of prefixes) {
      const m = new Map<string, Buffer>();
      this.state.set(prefix, m);
      const w = new ListWatcher(store, prefix, (e) => {
        if (e.type === "upsert") m.set(e.kv.key.slice(prefix.length), e.kv.value);
        else if (e.type === "delete") m.delete(e.key.slice(prefix.length));
        this.kick();
      });
      this.watchers.push(w);
    }
    this.exports = new Syncer(store, { logger: this.log.child({ subsys: "service-export" }) });
    this.exports.start();
    // Exports a previous operator left behind are adopted, so stale ones get deleted below.
    for (const kv of (await store.list(`cilium/state/services/v1/${name}/`)).kvs) this.exports.upsert(kv.key, kv.value);
    await Promise.all(this.watchers.map((w) => w.waitSynced()));
    this.certRenewal = new CertRenewal({ store, cluster: name, serverCertificate: this.options.etcdServerCertificate?.(name), logger: this.log.child({ subsys: "cert-renewal" }) });
    this.certRenewal.start();
    this.log.info({ cluster: name, id }, "operator running");
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    await Promise.all(this.watchers.map((w) => w.stop()));
    await this.exports?.stop();
    await this.certRenewal?.stop();
  }

  private async beat(): Promise<void> {
    await this.options.store.put(HEARTBEAT_KEY, encodeHeartbeat({ at: new Date() })).catch((e: Error) => this.log.warn({ err: e.message }, "heartbeat write failed"));
  }

  private kick(): void {
    this.dirty = true;
    // Deferred, so that the events of one kvstore revision (one transaction) are folded into one pass.
    setImmediate(() => {
      if (!this.running && this.watchers.every((w) => w.synced)) void this.loop();
    });
  }

  private async loop(): Promise<void> {
    this.running = true;
    try {
      while (this.dirty && !this.stopped) {
        this.dirty = false;
        try {
          await this.reconcile();
          this.reconciles++;
        } catch (e) {
          this.log.error({ err: (e as Error).message }, "reconcile failed; retrying");
          await new Promise((r) => setTimeout(r, 1000));
          this.dirty = true;
        }
      }
    } finally {
      this.running = false;
    }
  }

  private entries(prefix: string): [string, Buffer][] {
    return [...(this.state.get(prefix) ?? new Map<string, Buffer>()).entries()];
  }

  private async reconcile(): Promise<void> {
    const { store } = this.options;
    // Pod CIDRs for registered nodes.
    const registered = this.entries(keys.nodeRegistrations()).map(([node]) => node);
    const existing = new Map(this.entries(keys.nodeCIDRs()).map(([node, v]) => [node, (JSON.parse(v.toString()) as { podCIDR: string }).podCIDR]));
    const { added } = assignPodCidrs(this.settings.podPool, this.settings.podNodeMaskSize, registered, existing);
    for (const [node, podCIDR] of added) {
      await store.put(keys.nodeCIDR(node), JSON.stringify({ podCIDR }));
      this.log.info({ node, podCIDR }, "assigned pod CIDR");
    }

    // Deployments: nodes whose agent has published its node record can run pods.
    const ready = this.entries(`cilium/state/nodes/v1/${this.settings.name}/`).map(([node]) => node);
    const pods = this.entries(keys.pods()).map(([, v]) => JSON.parse(v.toString()) as PodSpec);
    const perNode = new Map<string, number>();
    for (const p of pods) perNode.set(p.node, (perNode.get(p.node) ?? 0) + 1);
    const deployments = this.entries(keys.deployments()).map(([, v]) => JSON.parse(v.toString()) as Deployment);
    const owned = new Set(deployments.map((d) => `${d.metadata.namespace}/${d.metadata.name}`));

    for (const d of deployments) {
      const ns = d.metadata.namespace;
      const mine = pods.filter((p) => p.namespace === ns && p.deployment === d.metadata.name);
      const plan = planScale(d.metadata.name, d.spec.replicas, mine, ready, perNode);
      for (const name of plan.remove) {
        await store.delete(keys.pod(ns, name));
        this.log.info({ pod: `${ns}/${name}` }, "pod removed");
      }
      for (const { name, node } of plan.create) {
        const spec: PodSpec = {
          name,
          namespace: ns,
          labels: podLabels(d),
          node,
          ports: podPorts(d),
          image: d.spec.template.spec.containers[0]!.image,
          deployment: d.metadata.name,
          createdAt: new Date().toISOString(),
        };
        await store.put(keys.pod(ns, name), JSON.stringify(spec));
        perNode.set(node, (perNode.get(node) ?? 0) + 1);
        this.log.info({ pod: `${ns}/${name}`, node }, "pod scheduled");
      }
    }
    // Pods whose deployment is gone.
    for (const p of pods) {
      if (p.deployment && !owned.has(`${p.namespace}/${p.deployment}`)) await store.delete(keys.pod(p.namespace, p.name));
    }
    await this.reconcileServices();
    await this.maybeWriteCanaries();
  }

  /**
   * The cluster's sync canaries tell remote readers that its exported state is complete. State
   * comes from every agent, so they are written once every registered node's agent reports ready
   * (an agent is ready only after its initial records are in the kvstore).
   */
  private async maybeWriteCanaries(): Promise<void> {
    if (this.canariesWritten) return;
    const registered = this.entries(keys.nodeRegistrations()).map(([n]) => n);
    if (registered.length === 0) return;
    const reports = new Map(this.entries(keys.agentStatuses()).map(([n, v]) => [n, JSON.parse(v.toString()) as { ready?: boolean }]));
    if (!registered.every((n) => reports.get(n)?.ready)) return;
    await this.exports?.flushed();
    const at = new Date();
    await this.options.store.txn({
      success: STATE_KINDS.map((kind) => ({ type: "put" as const, key: syncCanaryKeyOf(kind, this.settings.name), value: encodeSyncCanary({ syncedAt: at }) })),
    });
    this.canariesWritten = true;
    this.log.info({ nodes: registered.length }, "every agent has synced: sync canaries written");
  }

  /** Allocations for every service, and backends for those with a selector. */
  private async reconcileServices(): Promise<void> {
    const { store } = this.options;
    const services = new Map(this.entries(keys.services()).map(([k, v]) => [k, JSON.parse(v.toString()) as Service]));
    const statuses = new Map(this.entries(keys.serviceStatuses()).map(([k, v]) => [k, JSON.parse(v.toString()) as ServiceStatus]));
    const allocator = new ServiceAllocator(this.settings.serviceCIDR, this.settings.loadBalancerPool, [...statuses.entries()].filter(([k]) => services.has(k)).map(([, v]) => v));
    for (const [k, s] of services) {
      const current = statuses.get(k);
      let next: ServiceStatus;
      try {
        next = allocator.allocate(s, current);
      } catch (e) {
        this.log.error({ service: k, err: (e as Error).message }, "cannot allocate service addresses");
        continue;
      }
      if (JSON.stringify(next) !== JSON.stringify(current)) {
        await store.put(keys.serviceStatus(s.metadata.namespace, s.metadata.name), JSON.stringify(next));
        this.log.info({ service: k, ...next }, "service addresses allocated");
      }
    }
    for (const k of statuses.keys()) if (!services.has(k)) await store.delete(`${keys.serviceStatuses()}${k}`);

    const podStatus = new Map(this.entries(keys.podStatuses()).map(([k, v]) => [k, JSON.parse(v.toString()) as PodStatus]));
    const pods = this.entries(keys.pods()).map(([, v]) => JSON.parse(v.toString()) as PodSpec);
    const endpoints = new Map(this.entries(keys.serviceEndpointsAll()).map(([k, v]) => [k, JSON.parse(v.toString()) as ServiceEndpoints]));
    for (const [k, s] of services) {
      const selector = s.spec.selector;
      if (!selector) continue;
      const backends: ServiceBackend[] = pods
        .filter((p) => p.namespace === s.metadata.namespace && matchesLabels(selector, p.labels))
        .map((p) => ({ p, st: podStatus.get(`${p.namespace}/${p.name}`) }))
        .filter(({ st }) => st?.phase === "Running" && st.ip)
        .map(({ p, st }) => ({ ip: st!.ip!, ready: true, pod: p.name, node: p.node }))
        .sort((a, b) => a.ip.localeCompare(b.ip, "en", { numeric: true }));
      const next: ServiceEndpoints = { backends, managedBy: "operator" };
      if (JSON.stringify(next) !== JSON.stringify(endpoints.get(k))) await store.put(keys.serviceEndpoints(s.metadata.namespace, s.metadata.name), JSON.stringify(next));
    }
    for (const [k, e] of endpoints) if (e.managedBy === "operator" && !services.get(k)?.spec.selector) await store.delete(`${keys.serviceEndpointsAll()}${k}`);

    // Global and shared services are exported to the mesh as Cilium's ClusterService records.
    if (this.exports) {
      const desired = desiredExports({ name: this.settings.name, id: this.settings.id }, joinLocalServices(services, statuses, endpoints));
      for (const p of desired.problems) this.log.warn(p, "service not exported");
      applyExports(this.exports, this.settings.name, desired.exports);
    }
  }
}
