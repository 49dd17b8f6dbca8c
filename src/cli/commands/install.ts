import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { parse } from "yaml";
import { applySet, mergeValues, type Values } from "../../install/helm-set.js";
import { installValues, type InstallResult } from "../../install/install.js";
import { applyMeshValues } from "../../install/mesh-values.js";
import { controlDaemon } from "../../lab/lab.js";
import { labAdoptCa, labClusterOf } from "../../lab/lab-mesh.js";
import { controlPlaneIp, meshHooks } from "./clustermesh.js";
import { readLabRecord } from "../../lab/lab-record.js";
import { connect, withCluster, type ClusterConnection } from "../cluster-connection.js";
import { UserError } from "../user-error.js";

interface ValuesOptions {
  set?: string[];
  setString?: string[];
  values?: string[];
  context?: string;
  force?: boolean;
}

/** Values files first (in order), then --set and --set-string, as Helm layers them. */
export function collectValues(o: ValuesOptions): Values {
  let values: Values = {};
  for (const file of o.values ?? []) {
    let doc: unknown;
    try {
      doc = parse(readFileSync(file === "-" ? 0 : file, "utf8"));
    } catch (e) {
      throw new UserError(`cannot read values file ${file}: ${(e as Error).message}`);
    }
    if (doc !== null && doc !== undefined && (typeof doc !== "object" || Array.isArray(doc))) throw new UserError(`values file ${file} must hold a YAML map`);
    values = mergeValues(values, (doc ?? {}) as Values);
  }
  for (const s of o.set ?? []) applySet(values, s);
  for (const s of o.setString ?? []) applySet(values, s, { asString: true });
  return values;
}

function report(r: InstallResult, context: string): void {
  const s = r.settings;
  console.log(`✓ ${context}: cluster.name=${s.name} cluster.id=${s.id} maxConnectedClusters=${s.maxConnectedClusters} routingMode=${s.datapathMode}`);
  if (r.changes.length) for (const c of r.changes) console.log(`  changed ${c}`);
  else console.log("  cluster identity unchanged");
  for (const c of r.liveChanges) console.log(`  changed ${c} (the agents apply it without a restart)`);
  if (r.unknown.length) console.log(`  note: values Trellis does not use (kept): ${r.unknown.join(", ")}`);
}

/** The lab's daemons read the settings at start: restart them so a change takes effect. */
async function restartLabDaemons(contextCluster: string): Promise<void> {
  const record = readLabRecord();
  const c = record?.clusters.find((x) => x.name === contextCluster);
  if (!c) {
    console.log("  restart the cluster's operator and agents so they pick up the change");
    return;
  }
  await controlDaemon(c.name, "operator", undefined, "restart");
  for (let n = 1; n <= c.nodes; n++) await controlDaemon(c.name, "agent", `node-${n}`, "restart");
  console.log(`  restarted the operator and ${c.nodes} agent(s) of ${c.name}`);
}

export function registerInstallCommands(program: Command): void {
  for (const verb of ["install", "upgrade"] as const) {
    program
      .command(verb)
      .description(verb === "install" ? "Set a cluster's identity and mesh settings from Helm-style values (cilium install)" : "Change the settings of an installed cluster (values are merged with the stored ones)")
      .option("--set <key=value>", "a value, Helm syntax (dots, commas, lists); repeatable", (v: string, prev: string[] = []) => [...prev, v])
      .option("--set-string <key=value>", "like --set, but always a string", (v: string, prev: string[] = []) => [...prev, v])
      .option("-f, --values <file>", "a values file (YAML); repeatable", (v: string, prev: string[] = []) => [...prev, v])
      .option("--force", "allow renaming or re-numbering a cluster that runs workloads")
      .option("--context <name>", "the cluster's context")
      .action(async (o: ValuesOptions) => {
        const values = collectValues(o);
        await withCluster(o.context, async (c) => {
          const r = await installValues(c.store, values, { force: o.force });
          report(r, c.context.name);
          if (r.changes.length) await restartLabDaemons(c.context.context.cluster);
          const plan = labClusterOf(c.context);
          let fresh: ClusterConnection | undefined;
          try {
            await applyMeshValues(values, {
              store: c.store,
              cluster: r.settings.name,
              controlPlaneIp: controlPlaneIp(c),
              hooks: meshHooks(c),
              adoptCa: async (ca) => {
                if (!plan) return undefined;
                if (!(await labAdoptCa(plan, ca, (l) => console.log(l)))) return undefined;
                // etcd now presents a certificate from the new CA: reconnect with the updated trust.
                fresh = connect(o.context);
                return fresh.store;
              },
              progress: (l) => console.log(l),
            });
          } finally {
            await fresh?.close();
          }
        });
      });
  }
}
