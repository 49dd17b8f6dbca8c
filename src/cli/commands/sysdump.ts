import { existsSync, readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Command } from "commander";
import { planCluster } from "../../lab/address-plan.js";
import { labPaths } from "../../lab/lab-dirs.js";
import { readLabRecord } from "../../lab/lab-record.js";
import { trellisCommand } from "../../lab/repo-paths.js";
import { archivePath, writeSysdump } from "../../sysdump/collect.js";
import { sysdumpItems, type SysdumpNode, type SysdumpTarget, type SysdumpTools } from "../../sysdump/items.js";
import { run } from "../../util/exec.js";
import { loadConfig, resolveContext, type ContextEntry } from "../config-file.js";

/**
 * Where the cluster's pieces are. In the lab, its record names every namespace and log file; for
 * any other context only what the CLI can ask for is collected, and the rest is recorded as missing.
 */
function target(ctx: ContextEntry): SysdumpTarget {
  const cluster = ctx.context.cluster;
  const entry = readLabRecord()?.clusters.find((c) => c.name === cluster);
  if (entry) {
    const plan = planCluster(entry.index, entry.nodes, entry.name, entry.id);
    return {
      context: ctx.name,
      cluster,
      nodes: plan.nodes.map((n) => ({ name: n.name, ip: n.ip, netns: n.netns, stateDir: labPaths.node(cluster, n.name) })),
      controlPlane: { ip: plan.controlPlane.ip, netns: plan.controlPlane.netns },
      logDir: labPaths.logs(cluster),
    };
  }
  const nodesDir = join(ctx.context["state-dir"], "nodes");
  const nodes: SysdumpNode[] = existsSync(nodesDir) ? readdirSync(nodesDir).map((name) => ({ name, ip: "", stateDir: join(nodesDir, name) })) : [];
  return { context: ctx.name, cluster, nodes };
}

/** `trellis sysdump` (cilium sysdump): status, logs, metrics and every node's kernel state, in one archive. */
export function registerSysdumpCommand(program: Command): void {
  program
    .command("sysdump")
    .description("Collect status, logs, metrics and each node's routes, FDB and nftables ruleset into one archive for a bug report")
    .option("--context <name>", "the cluster's context")
    .option("--output-filename <name>", "the archive's name (\".tar.gz\" is added when missing); default trellis-sysdump-<timestamp>.tar.gz in the current directory")
    .option("--worker-count <n>", "items collected at once", "3")
    .action(async (o: { context?: string; outputFilename?: string; workerCount: string }) => {
      const ctx = resolveContext(loadConfig(), o.context);
      const now = new Date();
      const archive = archivePath(o.outputFilename, now);
      const cli = trellisCommand();
      const tools: SysdumpTools = {
        cli: (args) => run(cli.command, [...cli.args, ...args], { timeoutMs: 60_000, allowFailure: true, env: { NODE_NO_WARNINGS: "1" } }),
        inNetns: (netns, argv) => run("ip", ["netns", "exec", netns, ...argv], { timeoutMs: 30_000, allowFailure: true }),
        readFile: (p) => readFile(p),
      };
      const t = target(ctx);
      const items = sysdumpItems(t, tools);
      const record = labPaths.record();
      if (existsSync(record)) items.push({ path: "lab/lab.json", collect: () => readFile(record) });
      process.stdout.write(`🔍 Collecting sysdump of ${t.cluster} (context ${ctx.name}): ${items.length} items, ${t.nodes.length} node(s)\n`);
      const workers = Number(o.workerCount);
      const r = await writeSysdump(
        archive,
        items,
        { context: ctx.name, cluster: t.cluster, nodes: t.nodes.map((n) => n.name), createdAt: now.toISOString() },
        { concurrency: Number.isInteger(workers) && workers > 0 ? workers : 3, onItem: (i) => !i.ok && process.stdout.write(`⚠️  ${i.path}: ${i.error}\n`) },
      );
      const failed = r.items.filter((i) => !i.ok).length;
      if (failed) process.stdout.write(`⚠️  ${failed}/${r.items.length} items could not be collected (listed in errors.txt in the archive)\n`);
      process.stdout.write(`🗳  The sysdump has been saved to ${r.archive}\n`);
    });
}
