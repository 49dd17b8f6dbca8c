import type { Command } from "commander";
import { configPath, loadConfig, resolveContext, saveConfig } from "../config-file.js";
import { formatTable, parseOutputFormat, printStructured } from "../output.js";

/** `trellis config get-contexts|current-context|use-context`, as kubectl's. */
export function registerConfigCommands(program: Command): void {
  const config = program.command("config").description(`Show or change contexts in the Trellis config file (${configPath()})`);

  config
    .command("get-contexts")
    .description("List the contexts (one per cluster)")
    .option("-o, --output <format>", "json or yaml")
    .action((opts: { output?: string }) => {
      const format = parseOutputFormat(opts.output);
      const cfg = loadConfig();
      const rows = cfg.contexts.map((c) => ({
        current: c.name === cfg["current-context"],
        name: c.name,
        cluster: c.context.cluster,
        kvstore: c.context.kvstore.endpoints.join(","),
      }));
      if (printStructured(rows, format)) return;
      process.stdout.write(formatTable(["CURRENT", "NAME", "CLUSTER", "KVSTORE"], rows.map((r) => [r.current ? "*" : "", r.name, r.cluster, r.kvstore])));
    });

  config
    .command("current-context")
    .description("Print the current context")
    .action(() => {
      process.stdout.write(resolveContext(loadConfig()).name + "\n");
    });

  config
    .command("use-context <name>")
    .description("Make <name> the current context")
    .action((name: string) => {
      const cfg = loadConfig();
      resolveContext(cfg, name);
      saveConfig({ ...cfg, "current-context": name });
      process.stdout.write(`Switched to context "${name}".\n`);
    });
}
