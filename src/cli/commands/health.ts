import type { Command } from "commander";
import { formatHealthStatus } from "../../health/status-format.js";
import { healthStatusJson } from "../../health/status-json.js";
import { parseResponderArgv, runResponder } from "../../health/responder.js";
import type { HealthReport } from "../../health/types.js";
import type { DatapathMode } from "../../datapath/types.js";
import { agentGet, agentSockets } from "../agent-sockets.js";
import { loadConfig, resolveContext } from "../config-file.js";
import { parseOutputFormat, printStructured } from "../output.js";

/** `trellis health status` (cilium-health status) and the health endpoint's responder. */
export function registerHealthCommands(program: Command): void {
  const health = program.command("health").description("Node-to-node health checks (cilium-health)");
  health
    .command("status")
    .description("Probe every node of every connected cluster from one agent, by ICMP and HTTP (:4240)")
    .option("--context <name>", "the cluster's context")
    .option("--node <name>", "the agent that probes (default: the first node)")
    .option("--verbose", "also list nodes without a health endpoint")
    .option("--cached", "show the last round instead of probing now")
    .option("-o, --output <format>", "json or yaml")
    .action(async (o: { context?: string; node?: string; verbose?: boolean; cached?: boolean; output?: string }) => {
      const format = parseOutputFormat(o.output);
      const ctx = resolveContext(loadConfig(), o.context);
      const agent = agentSockets(ctx, o.node)[0]!;
      const r = await agentGet<{ report: HealthReport; datapathMode: DatapathMode }>(agent.socket, o.cached ? "/v1/health" : "/v1/health?refresh=1");
      if (printStructured(healthStatusJson(r.report, { datapathMode: r.datapathMode }), format)) return;
      // Every node is listed, as in seed 002's example (cilium-health status in Cilium 1.13).
      process.stdout.write(formatHealthStatus(r.report, { verbose: true, datapathMode: r.datapathMode }));
      const healthy = r.report.nodes.every((n) => n.host.icmp.ok && n.host.http.ok && (!n.endpoint || (n.endpoint.icmp.ok && n.endpoint.http.ok)));
      if (!healthy) process.exitCode = 1;
    });

  health
    .command("responder", { hidden: true })
    .description("Serve GET /hello in a node's health endpoint (started by the agent)")
    .allowUnknownOption()
    .allowExcessArguments()
    .helpOption(false)
    .action(async () => {
      const a = parseResponderArgv(process.argv.slice(process.argv.indexOf("responder") + 1));
      await runResponder(a.ip, a.port, a.identity);
      await new Promise(() => undefined);
    });
}
