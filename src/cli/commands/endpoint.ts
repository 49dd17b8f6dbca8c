import type { Command } from "commander";
import type { Endpoint } from "../../agent/api-types.js";
import { loadConfig, resolveContext } from "../config-file.js";
import { agentGet, agentSockets } from "../agent-sockets.js";
import { formatTable, parseOutputFormat, printStructured } from "../output.js";

/** `trellis endpoint list`: the pods' endpoints as the agents see them, like `cilium endpoint list`. */
export function registerEndpointCommands(program: Command): void {
  const endpoint = program.command("endpoint").description("Inspect the endpoints (pods) the agents manage");
  endpoint
    .command("list")
    .description("List endpoints with their identity, labels and addresses")
    .option("--context <name>", "the cluster's context")
    .option("--node <name>", "only this node's agent")
    .option("-o, --output <format>", "json or yaml")
    .action(async (o: { context?: string; node?: string; output?: string }) => {
      const format = parseOutputFormat(o.output);
      const ctx = resolveContext(loadConfig(), o.context);
      const rows: (Endpoint & { node: string })[] = [];
      for (const a of agentSockets(ctx, o.node)) {
        for (const ep of await agentGet<Endpoint[]>(a.socket, "/v1/endpoints")) rows.push({ ...ep, node: a.node });
      }
      if (printStructured(rows, format)) return;
      process.stdout.write(
        formatTable(
          ["ENDPOINT", "NODE", "IDENTITY", "LABELS (source:key[=value])", "IPv4", "STATUS"],
          rows.map((e) => [e.containerId.slice(0, 12), e.node, String(e.identity), e.labels.join("\n"), e.ip, "ready"]),
        ),
      );
    });
}
