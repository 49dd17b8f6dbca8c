import type { Command } from "commander";
import { Agent } from "../../agent/agent.js";
import { EtcdStore } from "../../kvstore/etcd-store.js";
import { loadEtcdConfigFile } from "../../kvstore/etcd-config.js";
import { subsystemLogger } from "../../log/logger.js";
import { Operator } from "../../operator/operator.js";

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
    .requiredOption("--node-name <name>", "this node's name")
    .requiredOption("--node-ip <ip>", "this node's IP on the underlay")
    .option("--uplink <dev>", "interface carrying the node IP", "eth0")
    .option("--state-dir <dir>", "where the agent keeps IPAM, endpoints and its API socket", "/var/run/trellis")
    .action(async (o: { kvstoreConfig: string; nodeName: string; nodeIp: string; uplink: string; stateDir: string }) => {
      const log = subsystemLogger("agent", { node: o.nodeName });
      const store = new EtcdStore(await loadEtcdConfigFile(o.kvstoreConfig));
      const agent = new Agent({ store, nodeName: o.nodeName, nodeIP: o.nodeIp, uplink: o.uplink, stateDir: o.stateDir, logger: log });
      await agent.start();
      await runUntilSignalled(async () => {
        await agent.stop();
        await store.close();
      });
    });

  program
    .command("operator")
    .description("Run the per-cluster operator (daemon)")
    .requiredOption("--kvstore-config <file>", "etcd client config file")
    .action(async (o: { kvstoreConfig: string }) => {
      const store = new EtcdStore(await loadEtcdConfigFile(o.kvstoreConfig));
      const operator = new Operator({ store });
      await operator.start();
      await runUntilSignalled(async () => {
        await operator.stop();
        await store.close();
      });
    });
}
