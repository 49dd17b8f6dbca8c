import type { Command } from "commander";
import { Agent } from "../../agent/agent.js";
import { EtcdStore } from "../../kvstore/etcd-store.js";
import { loadEtcdConfigFile } from "../../kvstore/etcd-config.js";
import { daemonLogger, subsystemLogger } from "../../log/logger.js";
import { Operator } from "../../operator/operator.js";
import { labEtcdServerCertificate } from "../../lab/lab-mesh.js";
import { KvStoreMesh } from "../../clustermesh/kvstoremesh/kvstoremesh.js";
import { parseClusterSettings, type ClusterSettings } from "../../resources/cluster-settings.js";
import { keys } from "../../resources/keys.js";
import { Syncer } from "../../state/syncer.js";
import { AGENT_METRICS_ADDR, AgentMetrics, KVSTOREMESH_METRICS_ADDR, KvStoreMeshMetrics, OPERATOR_METRICS_ADDR, OperatorMetrics, serveMetrics } from "../../metrics/index.js";

const METRICS_ADDR_HELP = 'where to serve Prometheus metrics (GET /metrics): "<ip>:<port>", ":<port>" for every address, "" for none';

/** Runs until SIGTERM/SIGINT, then stops cleanly. */
async function runUntilSignalled(stop: () => Promise<void>): Promise<void> {
  await new Promise<void>((resolve) => {
    const done = () => resolve();
    process.once("SIGTERM", done);
    process.once("SIGINT", done);
  });
  await stop();
}

/** `trellis agent` and `trellis operator`: the daemons, as a host or the lab runs them. */
export function registerDaemonCommands(program: Command): void {
  program
    .command("agent")
    .description("Run the per-node agent (daemon)")
    .requiredOption("--kvstore-config <file>", "etcd client config file (endpoints, trusted-ca-file, cert-file, key-file)")
    .option("--cache-kvstore-config <file>", "etcd client config for reading KVStoreMesh's cache (a read-only user); default: --kvstore-config")
    .requiredOption("--node-name <name>", "this node's name")
    .requiredOption("--node-ip <ip>", "this node's IP on the underlay")
    .option("--uplink <dev>", "interface carrying the node IP", "eth0")
    .option("--state-dir <dir>", "where the agent keeps IPAM, endpoints and its API socket", "/var/run/trellis")
    .option("--health-netns <name>", "network namespace of the node's health endpoint", "trellis-health")
    .option("--health-interval <seconds>", "seconds between health probe rounds", "60")
    .option("--prometheus-serve-addr <addr>", METRICS_ADDR_HELP, AGENT_METRICS_ADDR)
    .action(async (o: { kvstoreConfig: string; cacheKvstoreConfig?: string; nodeName: string; nodeIp: string; uplink: string; stateDir: string; healthNetns: string; healthInterval: string; prometheusServeAddr: string }) => {
      const log = daemonLogger("agent", { node: o.nodeName });
      const interval = Number(o.healthInterval);
      if (!(interval >= 1)) throw new Error(`--health-interval must be a number of seconds, at least 1 (got "${o.healthInterval}")`);
      const metrics = new AgentMetrics({ processMetrics: true });
      const metricsServer = await serveMetrics(metrics.registry, o.prometheusServeAddr, log);
      const store = new EtcdStore(await loadEtcdConfigFile(o.kvstoreConfig), { observe: metrics.observeKvstore });
      const cacheStore = o.cacheKvstoreConfig ? new EtcdStore(await loadEtcdConfigFile(o.cacheKvstoreConfig), { observe: metrics.observeKvstore }) : undefined;
      const agent = new Agent({
        store,
        cacheStore,
        nodeName: o.nodeName,
        nodeIP: o.nodeIp,
        uplink: o.uplink,
        stateDir: o.stateDir,
        logger: log,
        // The responder is this same program: `trellis health responder ...`.
        healthResponder: { command: process.execPath, args: [...process.execArgv, process.argv[1]!, "health", "responder"] },
        healthNetns: o.healthNetns,
        healthIntervalMs: interval * 1000,
        metrics,
      });
      await agent.start();
      await runUntilSignalled(async () => {
        await agent.stop();
        await metricsServer?.close();
        await cacheStore?.close();
        await store.close();
      });
    });

  program
    .command("operator")
    .description("Run the per-cluster operator (daemon)")
    .requiredOption("--kvstore-config <file>", "etcd client config file")
    .option("--prometheus-serve-addr <addr>", METRICS_ADDR_HELP, OPERATOR_METRICS_ADDR)
    .action(async (o: { kvstoreConfig: string; prometheusServeAddr: string }) => {
      const metrics = new OperatorMetrics({ processMetrics: true });
      const metricsServer = await serveMetrics(metrics.registry, o.prometheusServeAddr, subsystemLogger("operator"));
      const store = new EtcdStore(await loadEtcdConfigFile(o.kvstoreConfig), { observe: metrics.observeKvstore });
      // In the lab the operator renews etcd's server certificate files too (tls.auto).
      const operator = new Operator({ store, etcdServerCertificate: (cluster) => labEtcdServerCertificate(o.kvstoreConfig, cluster) });
      metrics.attach(operator);
      await operator.start();
      await runUntilSignalled(async () => {
        await operator.stop();
        await metricsServer?.close();
        await store.close();
      });
    });
}

/** `trellis kvstoremesh`: caches every remote cluster's state in the local etcd (a daemon). */
export function registerKvstoremeshCommand(program: Command): void {
  program
    .command("kvstoremesh")
    .description("Run KVStoreMesh for a cluster (daemon): copies remote clusters' state into the local etcd's cache")
    .requiredOption("--kvstore-config <file>", "etcd client config file of the local cluster")
    .option("--prometheus-serve-addr <addr>", METRICS_ADDR_HELP, KVSTOREMESH_METRICS_ADDR)
    .action(async (o: { kvstoreConfig: string; prometheusServeAddr: string }) => {
      const log = subsystemLogger("kvstoremesh");
      const metrics = new KvStoreMeshMetrics({ processMetrics: true });
      const metricsServer = await serveMetrics(metrics.registry, o.prometheusServeAddr, log);
      const store = new EtcdStore(await loadEtcdConfigFile(o.kvstoreConfig), { observe: metrics.observeKvstore });
      let settings: ClusterSettings | undefined;
      while (!settings) {
        const kv = await store.get(keys.clusterSettings()).catch(() => undefined);
        if (kv) settings = parseClusterSettings(kv.value.toString());
        else await new Promise((r) => setTimeout(r, 500));
      }
      const publisher = new Syncer(store, { logger: log });
      publisher.start();
      const publish = () =>
        publisher.upsert(keys.kvstoremeshStatus(), JSON.stringify({ cluster: settings.name, status: mesh.status(), updatedAt: new Date().toISOString() }));
      const mesh = new KvStoreMesh({
        local: { name: settings.name, id: settings.id, maxConnectedClusters: settings.maxConnectedClusters },
        store,
        logger: log,
        onStatusChange: () => publish(),
      });
      metrics.attach(mesh, settings.name);
      mesh.start();
      publish();
      const timer = setInterval(publish, 10_000);
      log.info({ cluster: settings.name }, "KVStoreMesh running");
      await runUntilSignalled(async () => {
        clearInterval(timer);
        await mesh.stop();
        await metricsServer?.close();
        await publisher.stop({ revoke: true });
        await store.close();
      });
    });
}
