/**
 * Cluster-mesh benchmark, built in this process from the library (not the lab): real etcds with
 * TLS, client certificates and the mesh's RBAC users, ClusterMesh readers, KVStoreMesh, and a
 * network namespace programmed by LinuxDatapath.
 *   1. Endpoint (ipcache) changes written in cluster-1's etcd until a reader in cluster-2 has them,
 *      at 100 and 1,000 changes/s, without and with KVStoreMesh.
 *   2. A node record written in cluster-1 until the route to its pod CIDR is in the kernel of a
 *      node of cluster-2 (tunnel mode), both paths.
 *   3. Client connections each etcd serves in a mesh of 3 clusters × 4 nodes, both ways.
 * Needs root (network namespaces), etcd, iproute2 (`ip`, `ss`).
 *
 *   npx tsx -e 'import("./bench/clustermesh.bench.ts").then(m=>m.run({scale:1})).then(s=>console.log(s.markdown))'
 */
import { cpus, loadavg } from "node:os";
import { run as runCommand } from "../src/util/exec.js";
import { ChangeTimes } from "./clustermesh/change-times.js";
import { measureConnections, type ConnectionResult } from "./clustermesh/connections.js";
import { startMeshClusters, stopMeshClusters } from "./clustermesh/mesh-cluster.js";
import { PATH_LABEL, type MeshPath } from "./clustermesh/mesh-readers.js";
import { orderFor, splitRounds } from "./clustermesh/rounds.js";
import { withBenchNamespace } from "./clustermesh/netns.js";
import { NodeRouteProbe, summarizeNodeRounds, type NodeRouteResult, type NodeRouteSamples } from "./clustermesh/node-routes.js";
import { closeRigs, openRigs, type PathRig } from "./clustermesh/path-rig.js";
import { summarizePropagation, type EndpointStage, type PropagationResult, type PropagationSamples } from "./clustermesh/propagation.js";
import { fmt, type BenchOptions, type BenchSection } from "./section.js";

const PATHS: readonly MeshPath[] = ["direct", "kvstoremesh"];
const NODE_INTERVAL_MS = 250;
const NODES_PER_CLUSTER = 4;
/** Changes per round: rounds alternate between the paths, so a busy spell on the machine hits both. */
const ROUND_SIZE = 1000;
const NODE_ROUND_SIZE = 12;
const WARMUP = { rate: 1000, count: 1000 };

async function preflight(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error(`the clustermesh bench creates network namespaces and needs root; running as uid ${process.getuid?.()}`);
  const missing: string[] = [];
  for (const [command, args, pkg] of [
    ["etcd", ["--version"], "etcd-server"],
    ["ip", ["-V"], "iproute2"],
    ["ss", ["-V"], "iproute2"],
  ] as const) {
    if (!(await runCommand(command, args, { allowFailure: true }).catch(() => undefined))) missing.push(`${command} (Debian package ${pkg})`);
  }
  if (missing.length) throw new Error(`the clustermesh bench needs ${missing.join(", ")}: install with apt-get, or run scripts/setup.sh`);
}

interface RatePlan {
  readonly rate: number;
  readonly count: number;
}

async function measureEndpoints(rigs: readonly PathRig[], plans: readonly RatePlan[]): Promise<PropagationResult[]> {
  const newTimes = () => new ChangeTimes<EndpointStage>(["acked", "handled"]);
  for (const rig of rigs) await rig.endpoints(WARMUP.rate, WARMUP.count, newTimes());
  const results: PropagationResult[] = [];
  for (const plan of plans) {
    const samples = new Map<PathRig, PropagationSamples[]>(rigs.map((r) => [r, []]));
    for (const [round, count] of splitRounds(plan.count, ROUND_SIZE).entries()) {
      for (const rig of orderFor(rigs, round)) samples.get(rig)!.push(await rig.endpoints(plan.rate, count, newTimes()));
    }
    for (const rig of rigs) results.push(summarizePropagation(rig.path, plan.rate, samples.get(rig)!));
  }
  return results;
}

/** Each rig's cluster-2 node gets a namespace of its own; rounds alternate between them. */
async function measureNodeRoutes(rigs: readonly PathRig[], nodeCount: number): Promise<NodeRouteResult[]> {
  const samples = new Map<PathRig, NodeRouteSamples[]>(rigs.map((r) => [r, []]));
  const withProbes = async (i: number, probes: Map<PathRig, NodeRouteProbe>): Promise<void> => {
    if (i === rigs.length) {
      for (const [round, count] of splitRounds(nodeCount, NODE_ROUND_SIZE).entries()) {
        for (const rig of orderFor(rigs, round)) samples.get(rig)!.push(await rig.nodes(probes.get(rig)!, count, NODE_INTERVAL_MS));
      }
      return;
    }
    const rig = rigs[i]!;
    await withBenchNamespace(rig.path === "direct" ? "direct" : "kvsm", async (netns) => {
      const probe = await NodeRouteProbe.create(netns, rig.target);
      try {
        await withProbes(i + 1, new Map([...probes, [rig, probe]]));
      } finally {
        probe.stop();
      }
    });
  };
  await withProbes(0, new Map());
  return rigs.map((r) => summarizeNodeRounds(r.path, samples.get(r)!));
}

const ms = (x: number) => fmt(x, x < 10 ? 2 : 1);

function propagationTable(rows: readonly PropagationResult[]): string[] {
  return [
    "| path | changes/s asked (lowest issued) | changes (rounds) | put acked p50 ms | handler p50 ms | handler p99 ms | max ms |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map(
      (r) => `| ${PATH_LABEL[r.path]} | ${r.rate} (${fmt(r.issuedRate, 0)}) | ${r.handled.count} (${r.rounds}) | ${ms(r.acked.p50)} | ${ms(r.handled.p50)} | ${ms(r.handled.p99)} | ${ms(r.handled.max)} |`,
    ),
  ];
}

function nodeTable(rows: readonly NodeRouteResult[]): string[] {
  return [
    "| path | nodes added | handler p50 / p99 ms | route in kernel (reconcile done) p50 / p99 ms | seen by poll p50 / p99 ms | reconciles: count, p50 / max ms |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map(
      (r) =>
        `| ${PATH_LABEL[r.path]} | ${r.nodes} | ${ms(r.handled.p50)} / ${ms(r.handled.p99)} | ${ms(r.reconciled.p50)} / ${ms(r.reconciled.p99)} | ${ms(r.kernel.p50)} / ${ms(r.kernel.p99)} | ${r.reconcile.count}, ${ms(r.reconcile.p50)} / ${ms(r.reconcile.max)} |`,
    ),
  ];
}

function connectionTable(result: ConnectionResult): string[] {
  return [
    "| etcd of | without KVStoreMesh: agents of other clusters | total | with KVStoreMesh: other clusters' KVStoreMesh | own KVStoreMesh | own agents (cache) | total |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...result.rows.map(
      (r) =>
        `| ${r.cluster} | ${r.direct.fromPeers} | ${r.direct.total} | ${r.kvstoremesh.peersKvStoreMesh} | ${r.kvstoremesh.ownKvStoreMesh} | ${r.kvstoremesh.ownAgents} | ${r.kvstoremesh.total} |`,
    ),
  ];
}

export async function run(options: BenchOptions): Promise<BenchSection> {
  const { scale } = options;
  if (!(scale > 0 && scale <= 1)) throw new Error(`scale must be in (0, 1], got ${scale}`);
  await preflight();
  const plans: RatePlan[] = [
    { rate: 100, count: Math.max(200, Math.round(3000 * scale)) },
    { rate: 1000, count: Math.max(500, Math.round(5000 * scale)) },
  ];
  const nodeCount = Math.max(6, Math.round(36 * scale));

  const loadBefore = loadavg()[0]!;

  const rigs = await openRigs(PATHS);
  let propagation: PropagationResult[];
  let nodes: NodeRouteResult[];
  try {
    propagation = await measureEndpoints(rigs, plans);
    nodes = await measureNodeRoutes(rigs, nodeCount);
  } finally {
    await closeRigs(rigs);
  }

  const clusters = await startMeshClusters(3);
  let connections: ConnectionResult;
  try {
    connections = await measureConnections(clusters, NODES_PER_CLUSTER);
  } finally {
    await stopMeshClusters(clusters);
  }
  const loadAfter = loadavg()[0]!;

  const at = (path: MeshPath, rate: number) => propagation.find((r) => r.path === path && r.rate === rate)!;
  const ratios = plans.map((p) => `×${fmt(at("kvstoremesh", p.rate).handled.p50 / at("direct", p.rate).handled.p50)} at ${p.rate}/s`);
  const directPeers = connections.rows.map((r) => r.direct.fromPeers);
  const cachedPeers = connections.rows.map((r) => r.kvstoremesh.peersKvStoreMesh);
  const expectedDirect = 2 * NODES_PER_CLUSTER;
  const asExpected = directPeers.every((n) => n === expectedDirect) && cachedPeers.every((n) => n === 2);

  const markdown = [
    `Built in one process from the library, on ${cpus().length} CPUs: one etcd per cluster (Debian's etcd, TLS with client`,
    "certificates from the cluster's CA, the mesh's RBAC users and auth on, as `clustermesh enable` leaves it); agents publish as",
    "`admin-<cluster>`, readers of another cluster connect as `remote`, cache readers as `local-<cluster>`. \"Without KVStoreMesh\" is",
    "an agent's ClusterMesh reading cluster-1's etcd directly; \"with KVStoreMesh\" is cluster-2's KVStoreMesh copying cluster-1's",
    "state into cluster-2's etcd plus an agent's ClusterMesh in cache mode reading that. Writer, KVStoreMesh and reader share one",
    "Node.js event loop here (separate processes in a real mesh), so their work adds up in the figures; the etcds are processes.",
    `Each path has its own pair of etcds and both stay up; rounds alternate between the paths so that other work on the machine`,
    `weighs on both alike (load average, 1 min: ${fmt(loadBefore)} at the start, ${fmt(loadAfter)} at the end).`,
    "",
    "### Endpoint changes, cluster-1 → a reader in cluster-2",
    "",
    `New ipcache entries (a new pod IP each) put into cluster-1's etcd at a steady rate, in rounds of up to ${ROUND_SIZE}, after`,
    `${WARMUP.count} unmeasured ones at ${WARMUP.rate}/s per path. Timed from the put being issued to the reader's endpoints handler getting`,
    "the entry; \"put acked\" is etcd's answer to the writer. p99 and max are from all rounds together.",
    "",
    ...propagationTable(propagation),
    "",
    `KVStoreMesh / direct at p50: ${ratios.join(", ")}: the extra hop is a watch event, a batched write into cluster-2's etcd and`,
    "a second watch event.",
    "",
    "### Node record → route in the kernel of a cluster-2 node",
    "",
    `${nodeCount} node records of cluster-1 per path, put one every ${NODE_INTERVAL_MS} ms in rounds of up to ${NODE_ROUND_SIZE} alternating between the paths. The cluster-2 node is a network namespace`,
    "(`trtest-mb-<pid>-…`, uplink a veth with 198.18.250.11/24) programmed in tunnel mode by `LinuxDatapath`, through the agent's",
    "`NodeCache` and `DatapathController` (changes during a reconcile are folded into the next). \"Route in kernel\" is when the first",
    "reconcile that started after the handler call finished: route, FDB and neighbour entries are in the kernel by then, so this is",
    "a tight upper bound. \"Seen by poll\" cross-checks it from outside: when `ip -n <ns> -j route show proto 116` (run every",
    `${ms(nodes[0]!.pollMs)} ms or so) first listed the route; each poll is a new process, so it lags further while the machine is busy.`,
    "A reconcile reads the node's routes, FDB, neighbours and links with `ip` and applies the difference in batches: most of the",
    "time from record to route is that, not the mesh.",
    "",
    ...nodeTable(nodes),
    "",
    `### etcd client connections, 3 clusters × ${NODES_PER_CLUSTER} nodes`,
    "",
    `Every reader built for real: ${3 * NODES_PER_CLUSTER} direct readers, then 3 KVStoreMesh + ${3 * NODES_PER_CLUSTER} cache readers, each with its own`,
    "etcd client. Counted on each etcd as ESTABLISHED TCP sockets on its client port (`ss -Htn state established '( sport = :PORT )'`),",
    `added in steps so each step's increase says who connected; before any reader each etcd served ${[...new Set(connections.rows.map((r) => r.baseline))].join("/")} connection(s).`,
    "The agents' own connection for publishing their state is the same either way and not built here. TLS matters for counting in",
    "one process: gRPC shares one TCP connection among a process's plain-http clients of the same etcd, but not among TLS clients",
    "(each builds its own credentials), so each reader here has its own connection, as on separate hosts.",
    "",
    ...connectionTable(connections),
    "",
    "### Summary",
    "",
    `- Endpoint changes reach a remote reader in ${PATHS.map((p) => `${ms(at(p, 1000).handled.p50)} ms p50 / ${ms(at(p, 1000).handled.p99)} ms p99 ${p === "direct" ? "directly" : "through KVStoreMesh"}`).join(", ")} at 1,000 changes/s` +
      ` (${PATHS.map((p) => `${ms(at(p, 100).handled.p50)} / ${ms(at(p, 100).handled.p99)} ms`).join(" and ")} at 100/s).`,
    `- A new remote node is routed in the kernel ${nodes.map((n) => `${ms(n.reconciled.p50)} ms p50 / ${ms(n.reconciled.p99)} ms p99 ${n.path === "direct" ? "directly" : "through KVStoreMesh"}`).join(", ")} after its record is written;` +
      ` the record reaches the agent in ${nodes.map((n) => `${ms(n.handled.p50)} ms`).join(" and ")} (p50) of that.`,
    `- Each etcd serves ${directPeers.join("/")} connections from other clusters without KVStoreMesh and ${cachedPeers.join("/")} with it` +
      ` (${asExpected ? `as expected: ${expectedDirect} remote agents vs 2 remote KVStoreMesh` : `expected ${expectedDirect} and 2: CHECK`}); with it, readers of other clusters no longer grow with the number of nodes.`,
  ].join("\n");
  return { title: "Cluster mesh: propagation latency, node routes, etcd connections", markdown };
}
