import type { Command } from "commander";
import { connectClusters, disconnectClusters } from "../../clustermesh/setup/connect.js";
import { disableClusterMesh, enableClusterMesh, meshEndpoints, type MeshHooks } from "../../clustermesh/setup/enable.js";
import { parseServiceType, readMeshSettings } from "../../clustermesh/setup/mesh-settings.js";
import { meshCertificates } from "../../clustermesh/setup/mesh-certificates.js";
import { formatMeshStatus, meshStatusReport, type AgentReport, type MeshStatusReport } from "../../clustermesh/setup/mesh-status.js";
import type { KvStoreMeshStatus } from "../../clustermesh/status.js";
import { labClusterOf, labExposeAddresses, labKvstoremesh } from "../../lab/lab-mesh.js";
import { keys } from "../../resources/keys.js";
import { meshAnnotations, type Service } from "../../resources/service.js";
import { connect, withCluster, type ClusterConnection } from "../cluster-connection.js";
import { parseOutputFormat, printStructured } from "../output.js";
import { parseDuration } from "../duration.js";
import { UserError } from "../user-error.js";

const say = (l: string) => console.log(l);

export function controlPlaneIp(c: ClusterConnection): string {
  return new URL(c.context.context.kvstore.endpoints[0]!).hostname;
}

/** In the lab, the mesh's rollout steps happen for real; elsewhere the CLI says what to do. */
export function meshHooks(c: ClusterConnection): MeshHooks {
  const plan = labClusterOf(c.context);
  if (plan) {
    return {
      exposeAddresses: async (ips, validityDays) => {
        await labExposeAddresses(plan, ips, validityDays);
      },
      runKvstoremesh: (run) => labKvstoremesh(plan, run),
    };
  }
  return {
    exposeAddresses: async (ips) => say(`ℹ make etcd's server certificate name these addresses: ${ips.join(", ")}`),
    runKvstoremesh: async (run) => say(run ? "ℹ run `trellis kvstoremesh --kvstore-config <admin config>` next to etcd" : "ℹ stop `trellis kvstoremesh` if it runs"),
  };
}

async function gatherStatus(c: ClusterConnection): Promise<MeshStatusReport> {
  const settings = await c.settings();
  const mesh = await readMeshSettings(c.store);
  const endpoints = mesh?.enabled ? await meshEndpoints(c.store, mesh, controlPlaneIp(c)) : undefined;
  const nodes = (await c.store.list(keys.nodeRegistrations())).kvs.map((kv) => kv.key.slice(keys.nodeRegistrations().length)).sort();
  const agents = (await c.store.list(keys.agentStatuses())).kvs.map((kv) => JSON.parse(kv.value.toString()) as AgentReport);
  const kmKv = await c.store.get(keys.kvstoremeshStatus());
  const kvstoremesh = kmKv ? (JSON.parse(kmKv.value.toString()) as { status: KvStoreMeshStatus; updatedAt: string }) : undefined;
  const services = (await c.store.list(keys.services())).kvs.map((kv) => JSON.parse(kv.value.toString()) as Service);
  const globalServices = services.filter((s) => {
    try {
      return meshAnnotations(s.metadata.annotations).global;
    } catch {
      return false;
    }
  }).length;
  const certificates = mesh?.enabled ? await meshCertificates(c.store, settings.name, mesh) : [];
  return meshStatusReport({ cluster: settings.name, settings: mesh, endpoints, nodes, agents, kvstoremesh, globalServices, certificates });
}

function boolOption(v: string, name: string): boolean {
  if (v === "true") return true;
  if (v === "false") return false;
  throw new UserError(`${name} must be true or false (got "${v}")`);
}

export function registerClustermeshCommands(program: Command): void {
  const cm = program.command("clustermesh").description("Connect clusters into a mesh (cilium clustermesh)");

  cm.command("enable")
    .description("Make this cluster's etcd the mesh endpoint: exposure, certificates, users, KVStoreMesh")
    .option("--context <name>", "the cluster's context")
    .option("--service-type <type>", "LoadBalancer, NodePort or ClusterIP", "LoadBalancer")
    .option("--enable-kvstoremesh <bool>", "cache remote state in the local etcd (true|false)", "true")
    .action(async (o: { context?: string; serviceType: string; enableKvstoremesh: string }) => {
      const serviceType = parseServiceType(o.serviceType);
      const kvstoremesh = boolOption(o.enableKvstoremesh, "--enable-kvstoremesh");
      await withCluster(o.context, async (c) => {
        await c.settings();
        await enableClusterMesh(c.store, { serviceType, kvstoremesh, controlPlaneIp: controlPlaneIp(c), access: c.store, hooks: meshHooks(c), progress: say });
      });
    });

  cm.command("disable")
    .description("Remove the mesh endpoint, its users and KVStoreMesh")
    .option("--context <name>", "the cluster's context")
    .action(async (o: { context?: string }) => {
      await withCluster(o.context, async (c) => {
        await c.settings();
        await disableClusterMesh(c.store, c.store, meshHooks(c));
        say(`✓ cluster mesh disabled in ${c.context.name}`);
      });
    });

  for (const verb of ["connect", "disconnect"] as const) {
    cm.command(verb)
      .description(verb === "connect" ? "Connect two clusters (both directions at once)" : "Disconnect two clusters (both directions)")
      .option("--context <name>", "one cluster's context")
      .requiredOption("--destination-context <name>", "the other cluster's context")
      .action(async (o: { context?: string; destinationContext: string }) => {
        const a = connect(o.context);
        const b = connect(o.destinationContext);
        try {
          if (a.context.name === b.context.name) throw new UserError(`--context and --destination-context both name "${a.context.name}"; name two different clusters`);
          const sideA = { context: a.context.name, store: a.store, controlPlaneIp: controlPlaneIp(a) };
          const sideB = { context: b.context.name, store: b.store, controlPlaneIp: controlPlaneIp(b) };
          if (verb === "connect") {
            const r = await connectClusters(sideA, sideB);
            say(`✓ Connected cluster ${r.a.name} and ${r.b.name}!`);
          } else {
            const r = await disconnectClusters(sideA, sideB);
            say(r.removed ? `✓ Disconnected clusters ${a.context.name} and ${b.context.name}` : `ℹ ${a.context.name} and ${b.context.name} were not connected`);
          }
        } finally {
          await a.close();
          await b.close();
        }
      });
  }

  cm.command("status")
    .description("Show the mesh endpoint and whether every node is connected to every cluster")
    .option("--context <name>", "the cluster's context")
    .option("--wait", "wait until everything is ready")
    .option("--wait-duration <duration>", "how long --wait waits (e.g. 5m, 90s)", "5m")
    .option("-o, --output <format>", "json or yaml")
    .action(async (o: { context?: string; wait?: boolean; waitDuration: string; output?: string }) => {
      const format = parseOutputFormat(o.output);
      const limit = parseDuration(o.waitDuration, "--wait-duration");
      await withCluster(o.context, async (c) => {
        const started = Date.now();
        let report = await gatherStatus(c);
        let lastLine = "";
        let lastPrinted = 0;
        while (o.wait && report.waitingFor.length) {
          const elapsed = Math.round((Date.now() - started) / 1000);
          if (Date.now() - started > limit) {
            process.stderr.write(`❌ timed out after ${o.waitDuration}; still waiting for: ${report.waitingFor.join("; ")}\n`);
            process.stdout.write(formatMeshStatus(report));
            process.exitCode = 1;
            return;
          }
          const what = `${report.waitingFor[0]}${report.waitingFor.length > 1 ? ` (+${report.waitingFor.length - 1} more)` : ""}`;
          // A line when the reason changes, and every 5 s while it does not.
          if (what !== lastLine || elapsed - lastPrinted >= 5) {
            process.stderr.write(`⌛ [${c.context.name}] Waiting (${elapsed}s) for ${what}\n`);
            lastPrinted = elapsed;
          }
          lastLine = what;
          await new Promise((r) => setTimeout(r, 1000));
          report = await gatherStatus(c);
        }
        if (printStructured(report, format)) return;
        process.stdout.write(formatMeshStatus(report));
      });
    });
}
