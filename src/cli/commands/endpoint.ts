import type { Command } from "commander";
import type { EndpointView } from "../../agent/api-types.js";
import { loadConfig, resolveContext } from "../config-file.js";
import { agentGet, agentSockets } from "../agent-sockets.js";
import { parseOutputFormat, printStructured } from "../output.js";
import { formatEndpointTable } from "../policy-format.js";

/** `trellis endpoint list`: the pods' endpoints as the agents see them, like `cilium endpoint list`. */
export function registerEndpointCommands(program: Command): void {
  const endpoint = program.command("endpoint").description("Inspect the endpoints (pods) the agents manage");
  endpoint
    .command("list")
    .description("List endpoints with their policy enforcement, identity, labels and addresses")
    .option("--context <name>", "the cluster's context")
    .option("--node <name>", "only this node's agent")
    .option("-o, --output <format>", "json or yaml")
    .action(async (o: { context?: string; node?: string; output?: string }) => {
      const format = parseOutputFormat(o.output);
      const ctx = resolveContext(loadConfig(), o.context);
      const rows: (EndpointView & { node: string })[] = [];
      for (const a of agentSockets(ctx, o.node)) {
        for (const ep of await agentGet<EndpointView[]>(a.socket, "/v1/endpoints")) rows.push({ ...ep, node: a.node });
      }
      if (printStructured(rows, format)) return;
      process.stdout.write(formatEndpointTable(rows));
    });
}
