import type { Command } from "commander";
import { EtcdStore } from "../../kvstore/etcd-store.js";
import { loadEtcdConfigFile } from "../../kvstore/etcd-config.js";
import { PodRunner } from "../../lab/pod-runner.js";
import { trellisCommand } from "../../lab/repo-paths.js";
import { subsystemLogger } from "../../log/logger.js";

/** `trellis lab pod-runner`: the lab's kubelet + container runtime stand-in on one node (a daemon). */
export function registerPodRunnerCommand(lab: Command): void {
  lab
    .command("pod-runner", { hidden: true })
    .description("Run the lab's pods on one node (daemon; started by lab up)")
    .requiredOption("--kvstore-config <file>")
    .requiredOption("--cluster <name>")
    .requiredOption("--cluster-index <n>")
    .requiredOption("--node-name <name>")
    .requiredOption("--state-dir <dir>")
    .requiredOption("--agent-socket <path>")
    .requiredOption("--cni-bin-dir <dir>")
    .action(async (o: { kvstoreConfig: string; cluster: string; clusterIndex: string; nodeName: string; stateDir: string; agentSocket: string; cniBinDir: string }) => {
      const store = new EtcdStore(await loadEtcdConfigFile(o.kvstoreConfig));
      const cli = trellisCommand();
      const runner = new PodRunner({
        store,
        clusterIndex: Number(o.clusterIndex),
        clusterName: o.cluster,
        nodeName: o.nodeName,
        stateDir: o.stateDir,
        cni: { binDirs: [o.cniBinDir], netConfig: { cniVersion: "1.0.0", name: "trellis", type: "trellis-cni", agentSocket: o.agentSocket } },
        podServer: { command: cli.command, args: [...cli.args, "lab", "pod-server"] },
        logger: subsystemLogger("pod-runner", { node: o.nodeName }),
      });
      await runner.start();
      await new Promise<void>((resolve) => {
        process.once("SIGTERM", () => resolve());
        process.once("SIGINT", () => resolve());
      });
      await runner.stop();
      await store.close();
    });
}
