import type { Command } from "commander";
import type { AgentReport } from "../../clustermesh/setup/mesh-status.js";
import { STALE_REPORT_MS } from "../../clustermesh/setup/mesh-status.js";
import { readMeshSettings } from "../../clustermesh/setup/mesh-settings.js";
import type { KnownNode } from "../../agent/node-cache.js";
import { keys } from "../../resources/keys.js";
import { agentGet, agentSockets } from "../agent-sockets.js";
import { withCluster } from "../cluster-connection.js";
import { loadConfig, resolveContext } from "../config-file.js";
import { formatTable, parseOutputFormat, printStructured } from "../output.js";

function ago(iso: string | undefined): string {
  if (!iso) return "never";
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return s < 120 ? `${s}s ago` : s < 7200 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
}

/** `trellis status` (cilium status) and `trellis node list` (cilium node list). */
export function registerStatusCommands(program: Command): void {
  program
    .command("status")
    .description("Show agent readiness, the kvstore and the cluster mesh (cilium status)")
    .option("--context <name>", "the cluster's context")
    .option("--node <name>", "the agent whose view of the mesh to show (default: the first ready one)")
    .option("-o, --output <format>", "json or yaml")
    .action(async (o: { context?: string; node?: string; output?: string }) => {
      const format = parseOutputFormat(o.output);
      await withCluster(o.context, async (c) => {
        const started = Date.now();
        const settings = await c.settings();
        const latency = Date.now() - started;
        const mesh = await readMeshSettings(c.store);
        const nodes = (await c.store.list(keys.nodeRegistrations())).kvs.map((kv) => kv.key.slice(keys.nodeRegistrations().length)).sort();
        const reports = new Map(
          (await c.store.list(keys.agentStatuses())).kvs
            .map((kv) => JSON.parse(kv.value.toString()) as AgentReport)
            .filter((r) => Date.now() - Date.parse(r.updatedAt) < STALE_REPORT_MS)
            .map((r) => [r.node, r]),
        );
        const ready = nodes.filter((n) => reports.get(n)?.ready);
        const view = reports.get(o.node ?? ready[0] ?? "");
        const data = {
          cluster: settings.name,
          clusterId: settings.id,
          kvstore: { endpoints: c.context.context.kvstore.endpoints, ok: true, latencyMs: latency },
          agents: { ready: ready.length, total: nodes.length, notReady: nodes.filter((n) => !ready.includes(n)) },
          clustermesh: view?.clustermesh,
          meshEnabled: Boolean(mesh?.enabled),
          node: view?.node,
        };
        if (printStructured(data, format)) return;
        const lines = [
          `Cluster:       ${settings.name} (id ${settings.id}, routing ${settings.datapathMode})`,
          `KVStore:       Ok   etcd: ${c.context.context.kvstore.endpoints.join(", ")} (answered in ${latency} ms)`,
          `Agents:        ${ready.length === nodes.length ? "Ok  " : "Warn"} ${ready.length}/${nodes.length} ready${data.agents.notReady.length ? ` (not ready: ${data.agents.notReady.join(", ")})` : ""}`,
        ];
        const cm = view?.clustermesh;
        if (cm && cm.total > 0) {
          lines.push(`ClusterMesh:   ${cm.summary} (as seen by ${view.node})`);
          for (const r of cm.clusters) {
            const state = r.ready ? "ready" : r.notUsedReason ? `not used: ${r.notUsedReason}` : `not ready${r.lastError ? ` (${r.lastError})` : ""}`;
            lines.push(
              `   ${r.name}: ${state}${r.stale ? " (stale)" : ""}, ${r.counts.nodes} nodes, ${r.counts.endpoints} endpoints, ${r.counts.identities} identities, ${r.counts.services} services, ${r.reconnections} reconnections (last: ${ago(r.lastFailure)})`,
            );
          }
        } else lines.push(`ClusterMesh:   ${mesh?.enabled ? "enabled, no remote clusters connected" : "disabled"}`);
        console.log(lines.join("\n"));
      });
    });

  const node = program.command("node").description("Nodes of every connected cluster, as an agent sees them");
  node
    .command("list")
    .description("List every node of every connected cluster (cilium node list)")
    .option("--context <name>", "the cluster's context")
    .option("--node <name>", "ask this node's agent (default: the first one)")
    .option("-o, --output <format>", "json or yaml")
    .action(async (o: { context?: string; node?: string; output?: string }) => {
      const format = parseOutputFormat(o.output);
      const ctx = resolveContext(loadConfig(), o.context);
      const agent = agentSockets(ctx, o.node)[0]!;
      const nodes = await agentGet<Omit<KnownNode, "record">[]>(agent.socket, "/v1/nodes");
      if (printStructured(nodes, format)) return;
      process.stdout.write(
        formatTable(
          ["Name", "IPv4 Address", "Endpoint CIDR", "IPv6 Address", "Endpoint CIDR"],
          nodes.map((n) => [`${n.cluster}/${n.name}`, n.nodeIP ?? "<nil>", n.podCIDR ?? "<nil>", "<nil>", "<nil>"]),
        ),
      );
    });
}
