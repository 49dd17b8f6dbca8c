import { mkdirSync } from "node:fs";
import type { Server } from "node:http";
import { join } from "node:path";
import { identityRangeOf } from "../cluster/index.js";
import { LinuxDatapath } from "../datapath/linux/linux-datapath.js";
import { podMtu } from "../datapath/mtu.js";
import { routerIP } from "../datapath/node-addressing.js";
import type { Datapath, DatapathMode, DesiredNodeState } from "../datapath/types.js";
import { IpAllocator } from "../ipam/allocator.js";
import type { KvStore, Lease } from "../kvstore/kvstore.js";
import { daemonLogger, type Logger } from "../log/logger.js";
import { parseClusterSettings, type ClusterSettings } from "../resources/cluster-settings.js";
import { keys } from "../resources/keys.js";
import type { PodSpec } from "../resources/pod.js";
import { decodeIpcache, encodeIpcache, ipcacheKey, type IpcacheEntry } from "../state/index.js";
import { nodeKey } from "../state/keys.js";
import { LABEL_SOURCE_K8S, POD_NAMESPACE_LABEL, POLICY_CLUSTER_LABEL, labelToString, parseLabel, type Label } from "../state/labels.js";
import { decodeNode, encodeNode, type NodeRecord } from "../state/node.js";
import { Syncer } from "../state/syncer.js";
import { RecordWatcher } from "../state/watcher.js";
import { runJson } from "../util/exec.js";
import { listenUnix } from "../util/unix-http.js";
import { agentRoutes } from "./api-routes.js";
import { DatapathController } from "./datapath-controller.js";
import type { Endpoint, EndpointRequest } from "./api-types.js";
import { EndpointStore } from "./endpoint-store.js";
import { IdentityAllocator } from "./identity-allocator.js";
import { AgentMesh } from "./agent-mesh.js";
import { AgentHealth } from "./agent-health.js";
import type { AgentMetrics } from "../metrics/agent-metrics.js";
import { LocalServices } from "./local-services.js";

/** The IPAM owner of the node's health endpoint address (kept across restarts like a pod's). */
const HEALTH_OWNER = "health/eth0";
import { NodeCache } from "./node-cache.js";
import { PolicyEngine } from "./policy-engine.js";

export interface AgentOptions {
  readonly store: KvStore;
  readonly nodeName: string;
  readonly nodeIP: string;
  readonly uplink: string;
  /** Where the agent keeps its files (IPAM, endpoints) and its API socket. */
  readonly stateDir: string;
  readonly socketPath?: string;
  /** Where to read KVStoreMesh's cache (the local etcd as local-<cluster>); default: `store`. */
  readonly cacheStore?: KvStore;
  /**
   * How to start the health endpoint's responder (`trellis health responder`); without it the
   * node has no health endpoint and no health server (unit tests).
   */
  readonly healthResponder?: { command: string; args: readonly string[] };
  /** Network namespace of the node's health endpoint (default "trellis-health"). */
  readonly healthNetns?: string;
  readonly healthIntervalMs?: number;
  /**
   * How long the first policy reconcile waits for every remote cluster's state (Cilium's
   * clustermesh-sync-timeout, default 1 minute).
   */
  readonly clustermeshSyncTimeoutMs?: number;
  /** For unit tests: a recording datapath instead of the kernel. */
  readonly datapath?: Datapath;
  /** Prometheus metrics to keep (the caller serves them); none without. */
  readonly metrics?: AgentMetrics;
  readonly logger?: Logger;
}

async function waitForKey(store: KvStore, key: string, what: string, log: Logger): Promise<Buffer> {
  let warned = false;
  for (;;) {
    try {
      const kv = await store.get(key);
      if (kv) return kv.value;
    } catch (e) {
      if (!warned) log.warn({ err: (e as Error).message }, `waiting for ${what}`);
      warned = true;
    }
    if (!warned) log.info(`waiting for ${what} (${key})`);
    warned = true;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * The per-node agent: registers its node, publishes the node record and an ipcache entry (with a
 * security identity) per local pod, watches every node of its cluster, and programs the kernel
 * through one datapath reconciler. Serves the local API the CNI plugin and the CLI use.
 */
export class Agent {
  readonly log: Logger;
  readonly nodes = new NodeCache();
  settings!: ClusterSettings;
  podCIDR!: string;
  ipam!: IpAllocator;
  endpoints!: EndpointStore;
  identities!: IdentityAllocator;
  controller!: DatapathController;
  /** Network policy: resolves the node's endpoints' policies and programs them (policy-engine.ts). */
  policy!: PolicyEngine;
  private syncer!: Syncer;
  private nodeWatcher!: RecordWatcher<NodeRecord>;
  private server: Server | undefined;
  private readonly startedAt = new Date();
  private underlayMtu = 1500;
  /** IP -> entry, for every endpoint of the cluster (remote clusters join in the mesh). */
  private readonly ipcache = new Map<string, IpcacheEntry>();
  private ipcacheWatcher!: RecordWatcher<IpcacheEntry>;
  private ready = false;
  private lease: Lease | undefined;
  mesh!: AgentMesh;
  services!: LocalServices;
  health: AgentHealth | undefined;
  healthIP: string | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private lastPublished = 0;

  constructor(readonly options: AgentOptions) {
    this.log = options.logger ?? daemonLogger("agent", { node: options.nodeName });
  }

  get socketPath(): string {
    return this.options.socketPath ?? join(this.options.stateDir, "agent.sock");
  }

  get mode(): DatapathMode {
    return this.settings.datapathMode;
  }

  async start(): Promise<void> {
    const { store, nodeName, nodeIP } = this.options;
    mkdirSync(this.options.stateDir, { recursive: true });
    this.settings = parseClusterSettings((await waitForKey(store, keys.clusterSettings(), "the cluster settings", this.log)).toString());
    const cluster = this.settings.name;
    this.log.info({ cluster, id: this.settings.id, mode: this.settings.datapathMode }, "cluster settings loaded");

    // Like a kubelet registering its Node: the operator answers with a pod CIDR.
    const prior = await store.get(keys.nodeRegistration(nodeName));
    const registeredAt = prior ? ((JSON.parse(prior.value.toString()) as { registeredAt?: string }).registeredAt ?? new Date().toISOString()) : new Date().toISOString();
    await store.put(keys.nodeRegistration(nodeName), JSON.stringify({ name: nodeName, ip: nodeIP, registeredAt }));
    const cidrValue = await waitForKey(store, keys.nodeCIDR(nodeName), "a pod CIDR from the operator", this.log);
    this.podCIDR = (JSON.parse(cidrValue.toString()) as { podCIDR: string }).podCIDR;
    this.log.info({ podCIDR: this.podCIDR }, "pod CIDR assigned");

    const uplink = await runJson<{ mtu?: number }[]>("ip", ["-j", "link", "show", "dev", this.options.uplink]);
    this.underlayMtu = uplink[0]?.mtu ?? 1500;
    this.ipam = await IpAllocator.open({ cidr: this.podCIDR, stateFile: join(this.options.stateDir, "ipam.json") });
    this.endpoints = new EndpointStore(join(this.options.stateDir, "endpoints.json"));
    if (this.options.healthResponder) this.healthIP = (await this.ipam.allocate(HEALTH_OWNER)).ip;

    this.syncer = new Syncer(store, { canaryKey: undefined, logger: this.log.child({ subsys: "syncer" }) });
    this.syncer.start();
    this.identities = new IdentityAllocator(store, identityRangeOf(this.settings.id, this.settings.maxConnectedClusters), nodeIP, () => this.identityLease(), this.log.child({ subsys: "identity" }));

    const datapath = this.options.datapath ?? new LinuxDatapath({ logger: this.log.child({ subsys: "datapath" }) });
    this.controller = new DatapathController(datapath, () => this.desiredState(), this.log.child({ subsys: "datapath" }));
    this.options.metrics?.attach(this);
    this.policy = new PolicyEngine({
      store,
      cluster,
      nodeName,
      datapath,
      remoteSync: () => this.mesh.waitRemotesSynced(this.options.clustermeshSyncTimeoutMs ?? 60_000),
      logger: this.log.child({ subsys: "policy" }),
      sources: {
        endpoints: () => this.endpoints.list(),
        localIdentities: () => this.identities.known(),
        remoteIdentities: () => this.mesh?.remoteIdentities.values() ?? [],
        localIpcache: () => this.ipcache.values(),
        remoteIpcache: () => this.mesh?.remoteEndpoints.values() ?? [],
        nodes: () => this.nodes.all(),
      },
    });
    this.identities.onChange(() => this.policy.identitiesChanged());

    this.syncer.upsert(
      nodeKey(cluster, nodeName),
      encodeNode({
        name: nodeName,
        cluster,
        clusterId: this.settings.id,
        ipAddresses: [
          { type: "InternalIP", ip: nodeIP },
          { type: "CiliumInternalIP", ip: routerIP(this.podCIDR) },
        ],
        ipv4AllocCidr: this.podCIDR,
        ...(this.healthIP ? { ipv4HealthIp: this.healthIP } : {}),
        source: "local",
      }),
    );

    this.nodeWatcher = new RecordWatcher(store, {
      prefix: `cilium/state/nodes/v1/${cluster}/`,
      decode: (k, v) => decodeNode(k, v),
      onEvent: (e) => {
        if (e.type === "upsert") this.nodes.upsert("local", e.record);
        else if (e.type === "delete" && e.previous) this.nodes.delete("local", e.previous.cluster, e.previous.name);
        if (e.type !== "synced" || this.ready) void this.controller.sync().catch(() => undefined);
        if (e.type !== "synced") this.policy.ipcacheChanged();
      },
      logger: this.log.child({ subsys: "nodes" }),
    });

    this.ipcacheWatcher = new RecordWatcher(store, {
      prefix: "cilium/state/ip/v1/default/",
      decode: (k, v) => decodeIpcache(k, v),
      onEvent: (e) => {
        if (e.type === "upsert") this.ipcache.set(e.record.ip, e.record);
        else if (e.type === "delete" && e.previous) this.ipcache.delete(e.previous.ip);
        if (e.type !== "synced") this.policy.ipcacheChanged();
      },
      logger: this.log.child({ subsys: "ipcache" }),
    });

    this.services = new LocalServices(store, cluster, () => void this.controller.sync().catch(() => undefined), this.log.child({ subsys: "services" }));

    this.mesh = new AgentMesh({
      local: { name: cluster, id: this.settings.id, maxConnectedClusters: this.settings.maxConnectedClusters },
      store,
      cacheStore: this.options.cacheStore ?? store,
      nodes: this.nodes,
      services: this.services.merger.meshHandlers(),
      onChange: () => void this.controller.sync().catch(() => undefined),
      onPolicyInput: (kind) => (kind === "identities" ? this.policy.identitiesChanged() : this.policy.ipcacheChanged()),
      logger: this.log,
    });
    this.mesh.onStatus(() => this.publishStatus());
    this.mesh.start();

    await this.identities.ready();
    this.policy.start();
    await this.services.waitSynced();
    await this.garbageCollect();
    for (const ep of this.endpoints.list()) this.publishEndpoint(ep);
    if (this.healthIP && this.options.healthResponder) {
      this.health = new AgentHealth({
        cluster,
        node: nodeName,
        nodeIP,
        healthIP: this.healthIP,
        routerIP: routerIP(this.podCIDR),
        mtu: this.podMtu(),
        netns: this.options.healthNetns ?? "trellis-health",
        stateDir: this.options.stateDir,
        responder: this.options.healthResponder,
        intervalMs: this.options.healthIntervalMs ?? 60_000,
        nodes: this.nodes,
        onReport: (report) => this.options.metrics?.observeHealth(report),
        logger: this.log.child({ subsys: "health" }),
      });
      // The endpoint is reserved:health (identity 4), as Cilium's health endpoint.
      this.syncer.upsert(ipcacheKey(this.healthIP), encodeIpcache({ ip: this.healthIP, identity: 4, hostIp: nodeIP }));
    }
    this.syncer.markInitialSyncDone();

    await this.controller.sync().catch((e: Error) => this.log.error({ err: e.message }, "initial datapath reconcile failed"));
    await this.policy.ready();
    // The first policy reconcile waits for the remote clusters (up to the sync timeout); until then
    // the kernel keeps enforcing what an earlier run applied, and CNI ADDs wait for it.
    void this.policy.sync().catch((e: Error) => this.log.error({ err: e.message }, "initial policy reconcile failed; retrying in the background"));
    if (this.health) {
      // Health checking must never keep the node from working: a failure is logged and repaired later.
      await this.health.start().catch((e: Error) => this.log.error({ err: e.message }, "health checking could not start; retrying in the background"));
      await this.controller.sync().catch(() => undefined); // the endpoint's host route
    }
    this.controller.start();
    this.server = await listenUnix(agentRoutes(this), this.socketPath);
    await this.syncer.flushed();
    this.ready = true;
    this.publishStatus();
    this.statusTimer = setInterval(() => this.publishStatus(true), 10_000);
    this.log.info({ socket: this.socketPath, endpoints: this.endpoints.list().length }, "agent ready");
  }

  async stop(): Promise<void> {
    this.ready = false;
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.controller?.stop();
    await this.policy?.stop();
    await this.mesh?.stop();
    await this.services?.stop();
    await this.health?.stop();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    await this.nodeWatcher?.stop();
    await this.ipcacheWatcher?.stop();
    await this.identities?.stop();
    await this.syncer?.stop();
  }

  desiredState(): DesiredNodeState | undefined {
    if (!this.podCIDR) return undefined;
    return {
      mode: this.settings.datapathMode,
      local: { name: this.options.nodeName, cluster: this.settings.name, nodeIP: this.options.nodeIP, podCIDR: this.podCIDR, uplink: this.options.uplink },
      peers: this.nodes.peers({ cluster: this.settings.name, name: this.options.nodeName }),
      endpoints: [
        ...this.endpoints.list().map((e) => ({ ip: e.ip, hostIfName: e.hostIfName, containerId: e.containerId })),
        ...(this.health?.hostIfName && this.healthIP ? [{ ip: this.healthIP, hostIfName: this.health.hostIfName, containerId: "health" }] : []),
      ],
      services: this.services?.specs() ?? [],
    };
  }

  status(): Record<string, unknown> {
    return {
      node: this.options.nodeName,
      cluster: this.settings?.name,
      clusterId: this.settings?.id,
      ready: this.ready,
      clustermesh: this.mesh?.status(),
      startedAt: this.startedAt.toISOString(),
      nodeIP: this.options.nodeIP,
      podCIDR: this.podCIDR,
      datapath: {
        mode: this.settings?.datapathMode,
        reconciles: this.controller?.reconciles ?? 0,
        failures: this.controller?.failures ?? 0,
        lastAt: this.controller?.last.at?.toISOString(),
        lastError: this.controller?.last.error,
        problems: this.controller?.last.report?.problems.map((p) => p.message) ?? [],
      },
      endpoints: this.endpoints?.list().length ?? 0,
      policy: this.policy?.status(),
      nodes: this.nodes.all().length,
      kvstore: { syncer: this.syncer?.getStats(), nodeWatcherSynced: this.nodeWatcher?.synced ?? false },
    };
  }

  /** What `clustermesh status` reads: readiness and every remote cluster's status, lease-bound. */
  private publishStatus(force = false): void {
    if (!this.syncer) return;
    const now = Date.now();
    if (!force && now - this.lastPublished < 1000) {
      setTimeout(() => this.publishStatus(), 1000 - (now - this.lastPublished)).unref();
      return;
    }
    this.lastPublished = now;
    const mesh = this.mesh?.status();
    this.syncer.upsert(
      keys.agentStatus(this.options.nodeName),
      JSON.stringify({ node: this.options.nodeName, cluster: this.settings.name, ready: this.ready, mode: this.mesh?.currentMode, clustermesh: mesh, updatedAt: new Date().toISOString() }),
    );
  }

  podMtu(): number {
    return podMtu(this.settings.datapathMode, this.underlayMtu);
  }

  ipcacheView(): { ip: string; identity: number; hostIp?: string; pod?: string; source: string }[] {
    const remote = [...(this.mesh?.remoteEndpoints.values() ?? [])];
    return [...[...this.ipcache.values()].map((e) => ({ ...e, cluster: this.settings.name })), ...remote]
      .map((e) => ({ ip: e.ip, identity: e.identity, hostIp: e.hostIp, pod: e.k8sPodName ? `${e.k8sNamespace}/${e.k8sPodName}` : undefined, source: e.cluster }))
      .sort((a, b) => a.ip.localeCompare(b.ip, "en", { numeric: true }));
  }

  /** Security labels of a pod: its labels, its namespace, and the cluster it belongs to. */
  async podLabels(namespace: string, name: string): Promise<Label[]> {
    const kv = await this.options.store.get(keys.pod(namespace, name));
    const podLabels = kv ? ((JSON.parse(kv.value.toString()) as PodSpec).labels ?? {}) : {};
    const labels: Label[] = Object.entries(podLabels).map(([key, value]) => ({ source: LABEL_SOURCE_K8S, key, value }));
    labels.push({ source: LABEL_SOURCE_K8S, key: POD_NAMESPACE_LABEL, value: namespace });
    labels.push({ source: LABEL_SOURCE_K8S, key: POLICY_CLUSTER_LABEL, value: this.settings.name });
    return labels.sort((a, b) => a.key.localeCompare(b.key));
  }

  async addEndpoint(req: EndpointRequest): Promise<Endpoint> {
    const held = await this.ipam.get(`${req.containerId}/${req.ifName}`);
    if (!held || held.ip !== req.ip) {
      throw new Error(`IP ${req.ip} is not allocated to ${req.containerId}/${req.ifName} on this node; allocate it with POST /v1/ipam first`);
    }
    const labels = await this.podLabels(req.podNamespace, req.podName);
    const identity = await this.identities.allocate(labels);
    const ep: Endpoint = { ...req, identity, labels: labels.map(labelToString), createdAt: new Date().toISOString() };
    await this.endpoints.put(ep);
    this.publishEndpoint(ep);
    const report = await this.controller.sync();
    if (report.problems.length) throw new Error(`datapath could not be programmed for ${req.ip}: ${report.problems.map((p) => p.message).join("; ")}`);
    // The pod must not start unprotected: its policy is in the kernel before CNI ADD returns.
    this.policy.endpointsChanged();
    await this.policy.sync();
    this.log.info({ pod: `${req.podNamespace}/${req.podName}`, ip: req.ip, identity }, "endpoint created");
    return ep;
  }

  async removeEndpoint(containerId: string): Promise<boolean> {
    const ep = await this.endpoints.remove(containerId);
    if (!ep) return false;
    this.syncer.delete(ipcacheKey(ep.ip));
    if (!this.endpoints.list().some((o) => o.identity === ep.identity)) {
      await this.identities.release(ep.labels.map(parseLabel)).catch((e: Error) => this.log.warn({ err: e.message }, "could not drop identity reference"));
    }
    await this.controller.sync().catch(() => undefined);
    this.policy.endpointsChanged();
    this.log.info({ pod: `${ep.podNamespace}/${ep.podName}`, ip: ep.ip }, "endpoint removed");
    return true;
  }

  private publishEndpoint(ep: Endpoint): void {
    this.syncer.upsert(
      ipcacheKey(ep.ip),
      encodeIpcache({ ip: ep.ip, identity: ep.identity, hostIp: this.options.nodeIP, k8sNamespace: ep.podNamespace, k8sPodName: ep.podName }),
    );
  }

  private async identityLease(): Promise<Lease> {
    if (!this.lease || this.lease.lost) this.lease = await this.options.store.grantLease(900);
    return this.lease;
  }

  /**
   * After a restart: endpoints whose pod was deleted while the agent was down are removed, and
   * addresses held by no endpoint (a CNI ADD that died half-way) are released.
   */
  private async garbageCollect(): Promise<void> {
    for (const ep of this.endpoints.list()) {
      const pod = await this.options.store.get(keys.pod(ep.podNamespace, ep.podName));
      if (!pod) {
        this.log.info({ pod: `${ep.podNamespace}/${ep.podName}`, ip: ep.ip }, "pod deleted while the agent was down; removing its endpoint");
        await this.endpoints.remove(ep.containerId);
        await this.ipam.release(`${ep.containerId}/${ep.ifName}`);
        this.syncer.delete(ipcacheKey(ep.ip));
      }
    }
    // ipcache entries the previous run published for pods that are gone (their lease outlives us).
    const mine = new Set([...this.endpoints.list().map((e) => e.ip), ...(this.healthIP ? [this.healthIP] : [])]);
    const { kvs } = await this.options.store.list("cilium/state/ip/v1/default/");
    for (const kv of kvs) {
      const r = decodeIpcache(kv.key, kv.value);
      if (r.ok && r.record.hostIp === this.options.nodeIP && !mine.has(r.record.ip)) {
        this.log.info({ ip: r.record.ip }, "removing a stale ipcache entry left by an earlier run");
        await this.options.store.delete(kv.key);
      }
    }
    const owners = new Set([...this.endpoints.list().map((e) => `${e.containerId}/${e.ifName}`), HEALTH_OWNER]);
    const graceMs = 60_000; // a CNI ADD may be between its IPAM call and its endpoint call right now
    for (const a of await this.ipam.list()) {
      if (!owners.has(a.owner) && Date.now() - Date.parse(a.allocatedAt) > graceMs) {
        this.log.info({ ip: a.ip, owner: a.owner }, "releasing an address no endpoint holds");
        await this.ipam.release(a.owner);
      }
    }
  }
}
