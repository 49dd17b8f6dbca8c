import type { Command } from "commander";
import { controlDaemon, labDown, labStatus, labUp } from "../../lab/lab.js";
import { loadConfig, resolveContext } from "../config-file.js";
import { podServerMain } from "../../lab/pod-server-main.js";
import { formatTable, parseOutputFormat, printStructured } from "../output.js";
import { UserError } from "../user-error.js";
import { registerPodRunnerCommand } from "./pod-runner.js";

const progress = (line: string) => process.stderr.write(line + "\n");

function intOption(value: string, name: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UserError(`${name} must be a whole number from ${min} to ${max} (got "${value}")`);
  return n;
}

/** `trellis lab up|down|status`: whole clusters on one machine, out of network namespaces. */
export function registerLabCommands(program: Command): void {
  const lab = program.command("lab").description("Build and remove a lab mesh of clusters made of network namespaces on this machine");

  lab
    .command("up")
    .description("Create (or complete) the lab: per cluster an etcd and operator, per node an agent")
    .option("--clusters <n>", "number of clusters", "2")
    .option("--nodes <m>", "nodes per cluster", "2")
    .option("--datapath <mode>", "tunnel (VXLAN on UDP 8472) or native (direct routes)", "tunnel")
    .action(async (o: { clusters: string; nodes: string; datapath: string }) => {
      if (o.datapath !== "tunnel" && o.datapath !== "native") throw new UserError(`--datapath must be tunnel or native (got "${o.datapath}")`);
      const started = Date.now();
      const record = await labUp({ clusters: intOption(o.clusters, "--clusters", 1, 63), nodes: intOption(o.nodes, "--nodes", 1, 200), datapath: o.datapath, progress });
      progress(`Lab is up in ${((Date.now() - started) / 1000).toFixed(1)} s: contexts ${record.contexts.join(", ")} (current: ${record.contexts[0]}). Try "trellis get nodes -o wide".`);
    });

  lab
    .command("down")
    .description("Remove everything the lab made: processes, namespaces, links, routes, files and contexts")
    .action(async () => {
      await labDown(progress);
    });

  lab
    .command("status")
    .description("Show the lab's clusters, daemons and where their logs are")
    .option("-o, --output <format>", "json or yaml")
    .action(async (o: { output?: string }) => {
      const format = parseOutputFormat(o.output);
      const s = (await labStatus()) as {
        stateDir: string;
        up: boolean;
        datapath?: string;
        clusters: { name: string; id: number; etcd: boolean; operator: boolean; nodes: { name: string; ip: string; agent: boolean; podRunner: boolean; log: string }[] }[];
        kernel: { namespaces: string[] };
      };
      if (printStructured(s, format)) return;
      console.log(`State directory: ${s.stateDir}`);
      if (!s.up) {
        console.log(`No lab is up${s.kernel.namespaces.length ? ` (but ${s.kernel.namespaces.length} lab namespaces exist: run "trellis lab down")` : ""}.`);
        return;
      }
      console.log(`Datapath: ${s.datapath}`);
      const up = (b: boolean) => (b ? "running" : "STOPPED");
      const rows: string[][] = [];
      for (const c of s.clusters) {
        rows.push([`${c.name} (id ${c.id})`, "control plane", `etcd ${up(c.etcd)}, operator ${up(c.operator)}`, ""]);
        for (const n of c.nodes) rows.push(["", `${n.name} ${n.ip}`, `agent ${up(n.agent)}, pod runner ${up(n.podRunner)}`, n.log]);
      }
      process.stdout.write(formatTable(["CLUSTER", "HOST", "DAEMONS", "LOG"], rows));
    });

  for (const action of ["stop", "start", "restart"] as const) {
    lab
      .command(`${action} <component>`)
      .description(`${action[0]!.toUpperCase()}${action.slice(1)} one daemon of the lab: etcd, operator, agent or pod-runner`)
      .option("--context <name>", "the cluster's context")
      .option("--node <name>", "the node, for agent and pod-runner")
      .action(async (component: string, o: { context?: string; node?: string }) => {
        const cluster = resolveContext(loadConfig(), o.context).context.cluster;
        const name = await controlDaemon(cluster, component, o.node, action);
        progress(`✓ ${name} ${action === "stop" ? "stopped" : action === "start" ? "started" : "restarted"}`);
      });
  }

  lab
    .command("pod-server", { hidden: true })
    .description("The lab's stand-in for a container: an HTTP server answering with its pod, node and cluster")
    .requiredOption("--name <pod>")
    .requiredOption("--namespace <ns>")
    .requiredOption("--node <node>")
    .requiredOption("--cluster <cluster>")
    .option("--ports <list>", "comma-separated ports", "80")
    // bin/trellis.js runs this without loading the CLI (src/lab/pod-server-main.ts); this entry
    // serves `--help` and a CLI started some other way, through the same parser.
    .action(async (o: { name: string; namespace: string; node: string; cluster: string; ports: string }) => {
      await podServerMain(["--name", o.name, "--namespace", o.namespace, "--node", o.node, "--cluster", o.cluster, "--ports", o.ports]);
      await new Promise(() => undefined); // serve until killed
    });

  registerPodRunnerCommand(lab);
}
