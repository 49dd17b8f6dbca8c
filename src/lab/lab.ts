import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { loadConfig, removeContexts, saveConfig, upsertContext, configPath } from "../cli/config-file.js";
import { EtcdStore } from "../kvstore/etcd-store.js";
import { loadEtcdConfigFile } from "../kvstore/etcd-config.js";
import type { KvStore } from "../kvstore/kvstore.js";
import type { ClusterSettings, DatapathMode } from "../resources/cluster-settings.js";
import { readClusterCa, writeClusterCa } from "../install/cluster-ca.js";
import { keys } from "../resources/keys.js";
import { run } from "../util/exec.js";
import { callUnix } from "../util/unix-http.js";
import { planCluster, type LabClusterPlan } from "./address-plan.js";
import { ensureClusterPki, pkiFiles, writeEtcdClientConfig } from "./cluster-pki.js";
import { labDir, labPaths } from "./lab-dirs.js";
import { readLabRecord, writeLabRecord, type LabRecord } from "./lab-record.js";
import { cniBinDir, trellisCommand } from "./repo-paths.js";
import { Supervisor, type DaemonSpec } from "./supervisor.js";
import { killPids } from "./netns.js";
import { applyLoadBalancerRoutes, applyTopology, labKernelState, teardownTopology } from "./topology.js";
import { PollTimeoutError, pollUntil } from "../util/poll.js";

export interface LabUpOptions {
  readonly clusters: number;
  readonly nodes: number;
  readonly datapath: DatapathMode;
  readonly progress: (line: string) => void;
  readonly timeoutMs?: number;
}

export class LabError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LabError";
  }
}

const REQUIRED_TOOLS: [string, string][] = [
  ["ip", "iproute2"],
  ["bridge", "iproute2"],
  ["etcd", "etcd-server"],
  ["nft", "nftables"],
  ["ping", "iputils-ping"],
  ["nsenter", "util-linux"],
];

/** Root, the tools, and the kernel features the lab needs; each missing piece named. */
export async function checkPrerequisites(): Promise<void> {
  if (process.getuid?.() !== 0) throw new LabError("the lab creates network namespaces and links: run it as root (sudo)");
  const missing: string[] = [];
  for (const [tool, pkg] of REQUIRED_TOOLS) {
    const r = await run("sh", ["-c", `command -v ${tool}`], { allowFailure: true });
    if (r.code !== 0) missing.push(`${tool} (Debian package ${pkg})`);
  }
  if (missing.length) throw new LabError(`missing tools: ${missing.join(", ")}; run scripts/setup.sh or apt-get install them`);
  const probe = "trl-probe";
  try {
    await run("ip", ["netns", "add", probe]);
    for (const [what, args] of [
      ["veth", ["link", "add", "p0", "type", "veth", "peer", "name", "p1"]],
      ["bridge", ["link", "add", "b0", "type", "bridge"]],
      ["vxlan", ["link", "add", "v0", "type", "vxlan", "id", "1", "dstport", "8472", "dev", "p0"]],
    ] as const) {
      const r = await run("ip", ["-n", probe, ...args], { allowFailure: true });
      if (r.code !== 0) throw new LabError(`the kernel cannot create ${what} links (${r.stderr.trim()}); load its module (modprobe ${what}) or use a kernel with it`);
    }
  } finally {
    await run("ip", ["netns", "del", probe], { allowFailure: true });
  }
}

function clusterSettings(plan: LabClusterPlan, datapath: DatapathMode): ClusterSettings {
  return {
    name: plan.name,
    id: plan.id,
    maxConnectedClusters: 255,
    datapathMode: datapath,
    podPool: plan.podPool,
    podNodeMaskSize: plan.podNodeMaskSize,
    serviceCIDR: plan.serviceCIDR,
    loadBalancerPool: plan.loadBalancerPool,
  };
}

export function daemonConfigPath(cluster: string): string {
  return join(labPaths.cluster(cluster), "etcd-daemons.yaml");
}

/** Agents read KVStoreMesh's cache as local-<cluster>, who may read nothing else. */
export function cacheConfigPath(cluster: string): string {
  return join(labPaths.cluster(cluster), "etcd-local.yaml");
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  try {
    return await pollUntil(what, timeoutMs, probe, 200);
  } catch (e) {
    throw e instanceof PollTimeoutError ? new LabError(e.message) : e;
  }
}

export async function connectAdmin(cluster: string): Promise<KvStore> {
  return new EtcdStore(await loadEtcdConfigFile(labPaths.etcdConfig(cluster)));
}

/** The etcd users a lab cluster has client certificates for. */
export function labUsers(cluster: string): string[] {
  return ["root", `admin-${cluster}`, `local-${cluster}`];
}

/** Every daemon of one lab cluster: etcd and the operator on the control plane, an agent and a pod runner per node. */
export function daemonSpecs(plan: LabClusterPlan): DaemonSpec[] {
  const name = plan.name;
  const endpoints = [`https://${plan.controlPlane.ip}:2379`];
  const pki = pkiFiles(labPaths.pki(name));
  const cli = trellisCommand();
  const daemonCfg = daemonConfigPath(name);
  const specs: DaemonSpec[] = [
    {
      name: `${name}/etcd`,
      netns: plan.controlPlane.netns,
      command: "etcd",
      args: [
        "--name", name,
        "--data-dir", labPaths.etcdData(name),
        "--listen-client-urls", `https://${plan.controlPlane.ip}:2379,https://127.0.0.1:2379`,
        "--advertise-client-urls", endpoints[0]!,
        "--listen-peer-urls", "http://127.0.0.1:2380",
        "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
        "--initial-cluster", `${name}=http://127.0.0.1:2380`,
        "--client-cert-auth",
        "--trusted-ca-file", pki.trustedBundle,
        "--cert-file", pki.serverCert,
        "--key-file", pki.serverKey,
        "--auto-compaction-mode", "revision",
        "--auto-compaction-retention", "100000",
        "--logger", "zap",
        "--log-outputs", "stderr",
      ],
      logFile: join(labPaths.logs(name), "etcd.log"),
    },
    {
      name: `${name}/operator`,
      netns: plan.controlPlane.netns,
      command: cli.command,
      args: [...cli.args, "operator", "--kvstore-config", daemonCfg],
      logFile: join(labPaths.logs(name), "operator.log"),
    },
  ];
  specs.push({
    name: `${name}/kvstoremesh`,
    netns: plan.controlPlane.netns,
    command: cli.command,
    args: [...cli.args, "kvstoremesh", "--kvstore-config", daemonCfg],
    logFile: join(labPaths.logs(name), "kvstoremesh.log"),
    onDemand: true,
  });
  for (const n of plan.nodes) {
    const ndir = labPaths.node(name, n.name);
    specs.push({
      name: `${name}/${n.name}/agent`,
      netns: n.netns,
      command: cli.command,
      args: [...cli.args, "agent", "--kvstore-config", daemonCfg, "--cache-kvstore-config", cacheConfigPath(name), "--node-name", n.name, "--node-ip", n.ip, "--uplink", "eth0", "--state-dir", ndir, "--health-netns", `${n.netns}-health`, "--health-interval", "15"],
      logFile: join(ndir, "agent.log"),
    });
    specs.push({
      name: `${name}/${n.name}/pod-runner`,
      netns: n.netns,
      command: cli.command,
      args: [
        ...cli.args, "lab", "pod-runner",
        "--kvstore-config", daemonCfg,
        "--cluster", name,
        "--cluster-index", String(plan.index),
        "--node-name", n.name,
        "--state-dir", ndir,
        "--agent-socket", labPaths.agentSocket(name, n.name),
        "--cni-bin-dir", cniBinDir(),
      ],
      logFile: join(ndir, "pod-runner.log"),
    });
  }
  return specs;
}

/** Stops and/or starts one lab daemon: "etcd" or "operator" of a cluster, "agent" or "pod-runner" of a node. */
export async function controlDaemon(cluster: string, component: string, node: string | undefined, action: "stop" | "start" | "restart"): Promise<string> {
  const record = readLabRecord();
  if (!record) throw new LabError('no lab is up: run "trellis lab up" first');
  const plan = plansOf(record).find((p) => p.name === cluster);
  if (!plan) throw new LabError(`no cluster "${cluster}" in the lab; clusters: ${record.clusters.map((c) => c.name).join(", ")}`);
  const perNode = component === "agent" || component === "pod-runner";
  if (!perNode && component !== "etcd" && component !== "operator" && component !== "kvstoremesh") throw new LabError(`unknown component "${component}": use etcd, operator, kvstoremesh, agent or pod-runner`);
  if (perNode && !node) throw new LabError(`${component} runs on every node: name one with --node (${plan.nodes.map((n) => n.name).join(", ")})`);
  if (!perNode && node) throw new LabError(`${component} runs on the control plane, not on a node: drop --node`);
  if (perNode && !plan.nodes.some((n) => n.name === node)) throw new LabError(`no node "${node}" in ${cluster}; nodes: ${plan.nodes.map((n) => n.name).join(", ")}`);
  const name = perNode ? `${cluster}/${node}/${component}` : `${cluster}/${component}`;
  const spec = daemonSpecs(plan).find((d) => d.name === name)!;
  const sup = new Supervisor(labPaths.pids());
  if (action !== "start") await sup.stop(name);
  if (action !== "stop") sup.start(spec);
  return name;
}

/** Starts (or completes) one cluster: PKI, etcd, settings, operator, agents and pod runners. */
async function upCluster(plan: LabClusterPlan, datapath: DatapathMode, sup: Supervisor, o: LabUpOptions): Promise<void> {
  const name = plan.name;
  mkdirSync(labPaths.logs(name), { recursive: true });
  const endpoints = [`https://${plan.controlPlane.ip}:2379`];
  const pki = await ensureClusterPki(labPaths.pki(name), name, [plan.controlPlane.ip], labUsers(name));
  writeEtcdClientConfig(labPaths.etcdConfig(name), endpoints, pki, "root");
  writeEtcdClientConfig(daemonConfigPath(name), endpoints, pki, `admin-${name}`);
  writeEtcdClientConfig(cacheConfigPath(name), endpoints, pki, `local-${name}`);

  const specs = daemonSpecs(plan);
  sup.start(specs.find((d) => d.name === `${name}/etcd`)!);
  const store = await connectAdmin(name);
  try {
    await waitFor(`etcd of ${name}`, 30_000, async () => (await store.revision()) > 0 || undefined);
    o.progress(`✓ ${name}: etcd is up at ${endpoints[0]} (TLS, client certificates)`);
    if (!(await readClusterCa(store))) await writeClusterCa(store, { certPem: readFileSync(pki.caCert, "utf8"), keyPem: readFileSync(pki.caKey, "utf8") });
    const wanted = clusterSettings(plan, datapath);
    const existing = await store.get(keys.clusterSettings());
    if (!existing) await store.put(keys.clusterSettings(), JSON.stringify(wanted));
    else if (existing.value.toString() !== JSON.stringify(wanted)) {
      throw new LabError(`${name} is already installed with other settings (${existing.value.toString()}); run "trellis lab down" first to rebuild it`);
    }
  } finally {
    await store.close();
  }

  const meshKv = await connectAdmin(name);
  const kvstoremeshWanted = await meshKv
    .get(keys.clustermesh())
    .then((kv) => (kv ? (JSON.parse(kv.value.toString()) as { enabled?: boolean; kvstoremesh?: boolean }) : undefined))
    .finally(() => meshKv.close());
  for (const d of specs) {
    if (d.onDemand && !(d.name.endsWith("/kvstoremesh") && kvstoremeshWanted?.enabled && kvstoremeshWanted.kvstoremesh)) continue;
    if (d.name !== `${name}/etcd`) {
      mkdirSync(dirname(d.logFile), { recursive: true });
      sup.start(d);
    }
  }
  o.progress(`✓ ${name}: operator, ${plan.nodes.length} agents and pod runners started`);
}

export async function waitForAgents(plans: readonly LabClusterPlan[], timeoutMs: number, progress: (l: string) => void): Promise<void> {
  for (const p of plans) {
    for (const n of p.nodes) {
      const sock = labPaths.agentSocket(p.name, n.name);
      await waitFor(`the agent of ${p.name}/${n.name} (log: ${join(labPaths.node(p.name, n.name), "agent.log")})`, timeoutMs, async () => {
        const s = await callUnix<{ ready: boolean; nodes: number }>(sock, "GET", "/v1/status", undefined, 2000);
        return s.ready && s.nodes >= p.nodes.length ? s : undefined;
      });
    }
    progress(`✓ ${p.name}: all ${p.nodes.length} agents ready and see every node of the cluster`);
  }
}

export function plansOf(record: Pick<LabRecord, "clusters">): LabClusterPlan[] {
  return record.clusters.map((c) => planCluster(c.index, c.nodes, c.name, c.id));
}

export async function labUp(o: LabUpOptions): Promise<LabRecord> {
  await checkPrerequisites();
  const plans = Array.from({ length: o.clusters }, (_, i) => planCluster(i + 1, o.nodes));
  const prior = readLabRecord();
  if (prior) {
    const same = prior.datapath === o.datapath && prior.clusters.length === o.clusters && prior.clusters.every((c) => c.nodes === o.nodes);
    if (!same) {
      throw new LabError(
        `a lab with ${prior.clusters.length} cluster(s) × ${prior.clusters[0]?.nodes} node(s), datapath ${prior.datapath}, is already up; run "trellis lab down" first to build a different one`,
      );
    }
  }
  o.progress(`Building a lab of ${o.clusters} cluster(s) × ${o.nodes} node(s), datapath ${o.datapath}, state in ${labDir()}`);
  await applyTopology(plans);
  await applyLoadBalancerRoutes(plans);
  o.progress(`✓ network: fabric bridge, ${plans.length} control plane(s), ${plans.length * o.nodes} node namespaces, admin link 198.18.0.1`);
  const sup = new Supervisor(labPaths.pids());
  for (const p of plans) await upCluster(p, o.datapath, sup, o);

  let cfg = loadConfig();
  for (const p of plans) {
    cfg = upsertContext(cfg, {
      name: p.name,
      context: { cluster: p.name, kvstore: { endpoints: [`https://${p.controlPlane.ip}:2379`], "trusted-ca-file": pkiFiles(labPaths.pki(p.name)).trustedBundle, "cert-file": pkiFiles(labPaths.pki(p.name)).client("root").cert, "key-file": pkiFiles(labPaths.pki(p.name)).client("root").key }, "state-dir": labPaths.cluster(p.name) },
    });
  }
  if (!prior) cfg = { ...cfg, "current-context": plans[0]!.name };
  saveConfig(cfg);
  const record: LabRecord = {
    datapath: o.datapath,
    clusters: plans.map((p) => ({ index: p.index, name: p.name, id: p.id, nodes: p.nodes.length })),
    contexts: plans.map((p) => p.name),
    configFile: configPath(),
    createdAt: prior?.createdAt ?? new Date().toISOString(),
  };
  writeLabRecord(record);
  o.progress(`✓ contexts ${record.contexts.join(", ")} written to ${configPath()}`);
  await waitForAgents(plans, o.timeoutMs ?? 120_000, o.progress);
  return record;
}

/** Removes everything the lab made: processes, namespaces, links, routes, files, contexts. */
export async function labDown(progress: (l: string) => void): Promise<{ namespaces: string[] }> {
  if (process.getuid?.() !== 0) throw new LabError("removing the lab's namespaces needs root: run it as root (sudo)");
  const record = readLabRecord();
  const sup = new Supervisor(labPaths.pids());
  // Daemons the lab started, by pid file, and any lab process whose namespace is already gone
  // (a crash can leave a pod server behind in a namespace nobody can name any more).
  const names = existsSync(labPaths.pids()) ? readdirSync(labPaths.pids()).map((f) => f.replace(/\.pid$/, "").replaceAll("_", "/")) : [];
  await Promise.all(names.map((n) => sup.stop(n)));
  await killPids(await strayLabProcesses());
  const { namespaces } = await teardownTopology();
  progress(`✓ removed ${namespaces.length} namespaces and the admin link`);
  if (record) {
    const cfgPath = record.configFile;
    const prev = process.env.TRELLIS_CONFIG;
    process.env.TRELLIS_CONFIG = cfgPath;
    try {
      saveConfig(removeContexts(loadConfig(), new Set(record.contexts)));
    } finally {
      if (prev === undefined) delete process.env.TRELLIS_CONFIG;
      else process.env.TRELLIS_CONFIG = prev;
    }
    progress(`✓ removed contexts ${record.contexts.join(", ")} from ${cfgPath}`);
  }
  rmSync(labDir(), { recursive: true, force: true });
  progress(`✓ removed ${labDir()}`);
  return { namespaces };
}

/** Processes of this package's lab daemons, or etcds on the lab's data directory, wherever they run. */
async function strayLabProcesses(): Promise<number[]> {
  const entry = trellisCommand().args[1]!;
  const pids: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    let cmd: string[];
    try {
      cmd = readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    const trellisDaemon = cmd.includes(entry) && (cmd.includes("agent") || cmd.includes("operator") || (cmd.includes("lab") && (cmd.includes("pod-server") || cmd.includes("pod-runner"))));
    const labEtcd = cmd[0]?.endsWith("etcd") && cmd.some((a) => a.startsWith(`${labDir()}/`));
    if (trellisDaemon || labEtcd) pids.push(Number(d));
  }
  return pids;
}

export async function labStatus(): Promise<Record<string, unknown>> {
  const record = readLabRecord();
  const kernel = await labKernelState();
  const sup = new Supervisor(labPaths.pids());
  const clusters = (record ? plansOf(record) : []).map((p) => ({
    name: p.name,
    id: p.id,
    etcd: sup.isRunning(`${p.name}/etcd`),
    operator: sup.isRunning(`${p.name}/operator`),
    nodes: p.nodes.map((n) => ({
      name: n.name,
      ip: n.ip,
      agent: sup.isRunning(`${p.name}/${n.name}/agent`),
      podRunner: sup.isRunning(`${p.name}/${n.name}/pod-runner`),
      log: join(labPaths.node(p.name, n.name), "agent.log"),
    })),
  }));
  return { stateDir: labDir(), up: Boolean(record), datapath: record?.datapath, clusters, kernel };
}
