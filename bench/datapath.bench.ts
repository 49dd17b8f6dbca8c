/**
 * Datapath benchmark, on real network namespaces programmed by LinuxDatapath:
 *   1. reconcile time for 1,000 peers (and 5,000 at scale 1), tunnel and native;
 *   2. pod-to-pod TCP throughput with iperf3, same node vs across nodes, tunnel and native;
 *   3. a no-fragmentation check at the tunnel-mode pod MTU.
 * Every part builds its own namespaces (`trtest-dp-<pid>-<n>-*`) and removes them when it ends,
 * also on a failure or Ctrl-C. Needs root, iproute2, nftables, iputils-ping and iperf3.
 *
 *   npx tsx -e 'import("./bench/datapath.bench.ts").then(m=>m.run({scale:1})).then(s=>console.log(s.markdown))'
 */
import { cpus, loadavg } from "node:os";
import { run as runCommand } from "../src/util/exec.js";
import type { DatapathMode } from "../src/datapath/types.js";
import { fragmentationMarkdown, noFragmentation, observeFragmentation } from "./datapath/fragmentation.js";
import { withNamespaces } from "./datapath/cleanup.js";
import { buildPodLab } from "./datapath/pod-lab.js";
import { measureReconcile, reconcileMarkdown, type ReconcileTimings } from "./datapath/reconcile.js";
import { crossToSameRatio, measurePodThroughput, medianGbps, throughputMarkdown } from "./datapath/throughput.js";
import { fmt, type BenchOptions, type BenchSection } from "./section.js";

const MODES: readonly DatapathMode[] = ["tunnel", "native"];
const RECONCILE_ROUNDS = 5;

/** Programs the bench runs, and the Debian package that provides each. */
const TOOLS: readonly (readonly [string, readonly string[], string])[] = [
  ["ip", ["-V"], "iproute2"],
  ["nft", ["--version"], "nftables"],
  ["ping", ["-V"], "iputils-ping"],
  ["iperf3", ["--version"], "iperf3"],
  ["ss", ["-V"], "iproute2"],
  ["timeout", ["--version"], "coreutils"],
];

async function preflight(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error(`the datapath bench creates network namespaces and needs root; running as uid ${process.getuid?.()}`);
  const missing: string[] = [];
  for (const [command, args, pkg] of TOOLS) {
    const r = await runCommand(command, args, { allowFailure: true }).catch(() => undefined);
    if (!r) missing.push(`${command} (Debian package ${pkg})`);
  }
  if (missing.length) throw new Error(`the datapath bench needs ${missing.join(", ")}: install with apt-get, or run scripts/setup.sh`);
}

export async function run(options: BenchOptions): Promise<BenchSection> {
  const { scale } = options;
  if (!(scale > 0 && scale <= 1)) throw new Error(`scale must be in (0, 1], got ${scale}`);
  await preflight();
  const peerCounts = scale === 1 ? [1000, 5000] : [Math.max(10, Math.round(1000 * scale))];
  const iperfSeconds = Math.max(1, Math.round(3 * scale));
  const iperfRuns = scale === 1 ? 5 : 1;
  const loadBefore = loadavg()[0]!;

  const reconcile: ReconcileTimings[] = [];
  for (const peers of peerCounts) for (const mode of MODES) reconcile.push(await measureReconcile(peers, mode, RECONCILE_ROUNDS));

  const { traffic: tunnel, result: fragmentation } = await withNamespaces(async (fixture) => {
    const lab = await buildPodLab(fixture, "tunnel");
    return observeFragmentation(fixture, lab, () => measurePodThroughput(lab, iperfSeconds, iperfRuns));
  });
  const native = await withNamespaces(async (fixture) => measurePodThroughput(await buildPodLab(fixture, "native"), iperfSeconds, iperfRuns));

  const loadAfter = loadavg()[0]!;
  const biggest = reconcile.filter((r) => r.peers === Math.max(...peerCounts));
  const fragVerdict = noFragmentation(fragmentation);
  const markdown = [
    "Real network namespaces on one machine, each node programmed by `LinuxDatapath` (iproute2 batches).",
    `Load average (1 min) ${fmt(loadBefore)} at the start and ${fmt(loadAfter)} at the end, on ${cpus().length} CPUs: iperf3 is`,
    "CPU-bound here, so other work on the machine shows in the throughput figures and their spread.",
    "",
    "### Reconcile",
    "",
    reconcileMarkdown(reconcile),
    "",
    "### Pod-to-pod TCP throughput",
    "",
    throughputMarkdown([tunnel, native]),
    "",
    "### No fragmentation at the pod MTU",
    "",
    fragmentationMarkdown(fragmentation),
    "",
    "### Summary",
    "",
    `- ${biggest.map((r) => `${r.peers} peers in ${r.mode} mode: ${fmt(r.scratchMs / 1000, 2)} s from scratch, ${fmt(r.addOneMs, 0)} ms for one more peer`).join("; ")}.`,
    `- Across nodes / same node: ${[tunnel, native].map((t) => `×${fmt(crossToSameRatio(t))} in ${t.mode} mode`).join(", ")};` +
      ` across nodes, tunnel / native: ×${fmt(medianGbps(tunnel.crossNode) / medianGbps(native.crossNode))}.`,
    `- Fragmentation: ${fragVerdict.pass ? "none at the pod MTU" : fragVerdict.countersLive ? "CHECK FAILED" : "inconclusive"}.`,
  ].join("\n");
  return { title: "Datapath: reconcile time, pod throughput, fragmentation", markdown };
}
