import type { Command } from "commander";
import { formatServiceList, formatServiceListJson, type ServiceModel } from "../../services/service-list-format.js";
import { agentGet, agentSockets } from "../agent-sockets.js";
import { loadConfig, resolveContext } from "../config-file.js";
import { parseOutputFormat, printStructured } from "../output.js";

/** `trellis service list` (cilium service list): the load-balancing table of one node's agent. */
export function registerServiceCommands(program: Command): void {
  const service = program.command("service").description("The services a node load-balances (cilium service list)");
  service
    .command("list")
    .description("List frontends and their backends, local and remote")
    .option("--context <name>", "the cluster's context")
    .option("--node <name>", "the node whose table to show (default: the first one)")
    .option("--clustermesh-affinity", "mark the backends the service's affinity prefers")
    .option("-o, --output <format>", "json or yaml")
    .action(async (o: { context?: string; node?: string; clustermeshAffinity?: boolean; output?: string }) => {
      const format = parseOutputFormat(o.output);
      const ctx = resolveContext(loadConfig(), o.context);
      const agent = agentSockets(ctx, o.node)[0]!;
      const models = await agentGet<ServiceModel[]>(agent.socket, "/v1/services");
      if (format === "json") {
        process.stdout.write(formatServiceListJson(models));
        return;
      }
      if (printStructured(models, format)) return;
      process.stdout.write(formatServiceList(models, { clustermeshAffinity: Boolean(o.clustermeshAffinity) }));
    });
}
