import type { RunResult } from "../util/exec.js";

/**
 * What `trellis sysdump` collects for one cluster, as a list of named items: each becomes one file
 * in the archive. Items only describe how to fetch their content; the collector runs them and
 * records any that fail, so one missing piece never costs the rest of the dump.
 */

export interface DumpItem {
  /** Path inside the archive, e.g. "nodes/node-1/routes.txt". */
  readonly path: string;
  readonly collect: () => Promise<string | Buffer>;
}

export interface SysdumpNode {
  readonly name: string;
  readonly ip: string;
  /** The node's network namespace (the lab); without it, kernel state cannot be read from here. */
  readonly netns?: string;
  /** The agent's state directory (the lab): logs, endpoints.json, ipam.json. */
  readonly stateDir?: string;
}

export interface SysdumpTarget {
  readonly context: string;
  readonly cluster: string;
  readonly nodes: readonly SysdumpNode[];
  /** Where etcd, the operator and KVStoreMesh run (the lab's control-plane namespace). */
  readonly controlPlane?: { readonly ip: string; readonly netns: string };
  /** The control plane's log directory (etcd.log, operator.log, kvstoremesh.log). */
  readonly logDir?: string;
}

export interface SysdumpTools {
  /** Runs `trellis <args>`. */
  cli(args: readonly string[]): Promise<RunResult>;
  /** Runs a command inside a network namespace. */
  inNetns(netns: string, argv: readonly string[]): Promise<RunResult>;
  readFile(path: string): Promise<Buffer>;
}

/** The metrics endpoints Trellis's daemons serve (`GET /metrics`), Cilium's ports. */
export const METRICS_PORTS = { agent: 9962, operator: 9963, kvstoremesh: 9964 } as const;

/** Logs larger than this keep only their end: the recent past is what a bug report needs. */
export const MAX_LOG_BYTES = 16 * 1024 * 1024;

/** A command's output; a non-zero exit with output (health status on an unhealthy mesh) is still content. */
export function commandOutput(what: string, r: RunResult): string {
  if (r.code === 0) return r.stdout;
  if (r.stdout.trim()) return `${r.stdout}${r.stdout.endsWith("\n") ? "" : "\n"}# ${what} exited with code ${r.code}${r.stderr.trim() ? `: ${r.stderr.trim()}` : ""}\n`;
  throw new Error(`${what} exited with code ${r.code}${r.stderr.trim() ? `: ${r.stderr.trim()}` : ""}`);
}

/** The node's kernel state: the routes, neighbours, FDB and rules the datapath programs. */
const KERNEL_COMMANDS: readonly (readonly [string, readonly string[]])[] = [
  ["routes.txt", ["ip", "route", "show", "table", "all"]],
  ["rules.txt", ["ip", "rule", "show"]],
  ["addresses.txt", ["ip", "-d", "address", "show"]],
  ["links.txt", ["ip", "-d", "-s", "link", "show"]],
  ["neighbours.txt", ["ip", "neigh", "show"]],
  ["fdb.txt", ["bridge", "fdb", "show"]],
  ["nft-ruleset.txt", ["nft", "list", "ruleset"]],
  ["sockets.txt", ["ss", "-tulpn"]],
];

export function sysdumpItems(t: SysdumpTarget, tools: SysdumpTools): DumpItem[] {
  const ctx = ["--context", t.context];
  const cliItem = (path: string, args: readonly string[]): DumpItem => ({
    path,
    collect: async () => commandOutput(`trellis ${args.join(" ")}`, await tools.cli(args)),
  });
  const items: DumpItem[] = [
    cliItem("status/status.txt", ["status", ...ctx]),
    cliItem("status/status.json", ["status", ...ctx, "-o", "json"]),
    cliItem("status/clustermesh-status.txt", ["clustermesh", "status", ...ctx]),
    cliItem("status/health-status.txt", ["health", "status", ...ctx]),
    cliItem("status/health-status.json", ["health", "status", ...ctx, "-o", "json"]),
    cliItem("status/node-list.txt", ["node", "list", ...ctx]),
    cliItem("status/nodes.txt", ["get", "nodes", "-o", "wide", ...ctx]),
    cliItem("status/pods.txt", ["get", "pods", "-o", "wide", ...ctx]),
    cliItem("status/deployments.txt", ["get", "deployments", "-o", "wide", ...ctx]),
    cliItem("status/services.txt", ["get", "services", "-o", "wide", ...ctx]),
    cliItem("status/endpoints.txt", ["endpoint", "list", ...ctx]),
  ];

  for (const n of t.nodes) {
    const dir = `nodes/${n.name}`;
    items.push(cliItem(`${dir}/service-list.txt`, ["service", "list", "--node", n.name, "--clustermesh-affinity", ...ctx]));
    for (const [file, argv] of KERNEL_COMMANDS) {
      items.push({
        path: `${dir}/${file}`,
        collect: async () => {
          if (!n.netns) throw new Error(`the network namespace of ${n.name} is not known (only the lab has one): run "${argv.join(" ")}" on the node itself`);
          return commandOutput(argv.join(" "), await tools.inNetns(n.netns, argv));
        },
      });
    }
    items.push(metricsItem(`metrics/${n.name}-agent.txt`, n.netns, n.ip, METRICS_PORTS.agent, tools));
    if (n.stateDir) {
      for (const f of ["agent.log", "pod-runner.log"]) items.push(logItem(`logs/${n.name}/${f}`, `${n.stateDir}/${f}`, tools));
      for (const f of ["endpoints.json", "ipam.json"]) items.push({ path: `${dir}/${f}`, collect: () => tools.readFile(`${n.stateDir}/${f}`) });
    }
  }

  if (t.controlPlane) {
    items.push(metricsItem("metrics/operator.txt", t.controlPlane.netns, t.controlPlane.ip, METRICS_PORTS.operator, tools));
    items.push(metricsItem("metrics/kvstoremesh.txt", t.controlPlane.netns, t.controlPlane.ip, METRICS_PORTS.kvstoremesh, tools));
  }
  if (t.logDir) for (const f of ["etcd.log", "operator.log", "kvstoremesh.log"]) items.push(logItem(`logs/${f}`, `${t.logDir}/${f}`, tools));
  return items;
}

/** Tries the daemon's own address, then loopback (a daemon may bind either), from its namespace. */
function metricsItem(path: string, netns: string | undefined, ip: string, port: number, tools: SysdumpTools): DumpItem {
  return {
    path,
    collect: async () => {
      if (!netns) throw new Error(`no network namespace known to reach :${port} from (only the lab has one)`);
      const tried: string[] = [];
      for (const host of [ip, "127.0.0.1"]) {
        const url = `http://${host}:${port}/metrics`;
        const r = await tools.inNetns(netns, ["curl", "-sS", "-f", "-m", "3", url]);
        if (r.code === 0) return r.stdout;
        tried.push(`${url}: ${r.stderr.trim() || `curl exit code ${r.code}`}`);
      }
      throw new Error(`no metrics endpoint answered (${tried.join("; ")})`);
    },
  };
}

function logItem(path: string, file: string, tools: SysdumpTools): DumpItem {
  return {
    path,
    collect: async () => {
      const b = await tools.readFile(file);
      return b.length > MAX_LOG_BYTES ? b.subarray(b.length - MAX_LOG_BYTES) : b;
    },
  };
}
