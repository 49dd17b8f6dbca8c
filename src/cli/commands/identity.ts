import type { Command } from "commander";
import type { IdentityView } from "../../agent/api-types.js";
import { agentGet, agentSockets } from "../agent-sockets.js";
import { loadConfig, resolveContext } from "../config-file.js";
import { parseOutputFormat, printStructured } from "../output.js";
import { formatIdentityTable } from "../policy-format.js";

/** `trellis identity list`: the identities an agent knows (reserved, its cluster's, connected clusters'), like `cilium identity list`. */
export function registerIdentityCommands(program: Command): void {
  const identity = program.command("identity").description("Inspect security identities");
  identity
    .command("list")
    .description("List the identities an agent knows, with their labels and cluster")
    .option("--context <name>", "the cluster's context")
    .option("--node <name>", "ask this node's agent (default: the first)")
    .option("-o, --output <format>", "json or yaml")
    .action(async (o: { context?: string; node?: string; output?: string }) => {
      const format = parseOutputFormat(o.output);
      const [agent] = agentSockets(resolveContext(loadConfig(), o.context), o.node);
      const ids = await agentGet<IdentityView[]>(agent!.socket, "/v1/identities");
      if (printStructured(ids, format)) return;
      process.stdout.write(formatIdentityTable(ids));
    });
}
