import { diagnose, type DiagnoseOptions, type HealthHint } from "./diagnose.js";
import { formatGoDuration } from "./go-duration.js";
import { tabwrite } from "./tabwriter.js";
import { targetName, type HealthReport, type PathResult, type ProbeOutcome, type TargetResult } from "./types.js";

/**
 * `trellis health status` output, in the layout of `cilium-health status` (seed 002):
 *
 *   Cluster health:   1/2 reachable
 *   Probe time:   2024-05-01T10:00:00Z
 *   Nodes:
 *     cluster-2/node-1:
 *       Host connectivity to 198.18.2.11:
 *         ICMP to stack:   OK, RTT=1.659939ms
 *         HTTP to agent:   Get "http://198.18.2.11:4240/hello": context deadline exceeded (...)
 *   Hints:
 *     cluster-2/node-1: ICMP to 198.18.2.11 works but ... TCP 4240 may be blocked between the nodes
 *
 * Which nodes are listed follows current Cilium (pkg/health/client): the header counts every node,
 * and only unhealthy nodes are listed unless `verbose`. Verbose also writes
 * "Endpoint connectivity: nil" for a node without a health endpoint, as Cilium does. Cilium 1.13,
 * the version in the seed, listed every node always: `verbose` gives exactly that listing. The
 * local node comes first, marked "(localhost)"; the others follow sorted by "<cluster>/<node>".
 * Columns are aligned by Go's tabwriter rules (padding 3), as the cilium-health binary does.
 */

export interface StatusFormatOptions extends DiagnoseOptions {
  readonly verbose?: boolean;
  /** Append the "Hints:" section when there is something to say (default true). */
  readonly hints?: boolean;
}

/** Cilium's rule: every probe of the node's IP and of its health endpoint (if any) succeeded. */
export function nodeIsHealthy(n: TargetResult): boolean {
  return pathIsHealthy(n.host) && (n.endpoint === undefined || pathIsHealthy(n.endpoint));
}

export function pathIsHealthy(p: PathResult): boolean {
  return p.icmp.ok && p.http.ok;
}

/** Local node first, then by name in byte order (Go's strings.Compare). */
export function orderedNodes(nodes: readonly TargetResult[]): TargetResult[] {
  const local = nodes.filter((n) => n.local);
  const others = nodes.filter((n) => !n.local).sort((a, b) => compareBytes(targetName(a), targetName(b)));
  return [...local, ...others];
}

/** RFC 3339 with whole seconds, as Go's time.RFC3339 prints the probe time. */
export function formatProbeTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function formatHealthStatus(report: HealthReport, options: StatusFormatOptions = {}): string {
  const nodes = orderedNodes(report.nodes);
  const healthy = nodes.filter(nodeIsHealthy).length;
  const listed = options.verbose ? nodes : nodes.filter((n) => !nodeIsHealthy(n));

  let out = tabwrite(`Cluster health:\t${healthy}/${nodes.length} reachable\n`);
  let body = `Probe time:\t${formatProbeTime(report.probeTime)}\n`;
  if (listed.length) body += "Nodes:\n";
  for (const n of listed) body += nodeBlock(n, options.verbose ?? false);
  out += tabwrite(body);

  const hints = options.hints === false ? [] : diagnose(nodes, options);
  if (hints.length) out += formatHints(hints);
  return out;
}

export function formatHints(hints: readonly HealthHint[]): string {
  return `Hints:\n${hints.map((h) => `  ${h.node}: ${h.message}\n`).join("")}`;
}

function nodeBlock(n: TargetResult, verbose: boolean): string {
  let s = `  ${targetName(n)}${n.local ? " (localhost)" : ""}:\n`;
  s += pathBlock("Host", n.host);
  if (n.endpoint) s += pathBlock("Endpoint", n.endpoint);
  else if (verbose) s += "    Endpoint connectivity:\tnil\n";
  return s;
}

function pathBlock(name: string, p: PathResult): string {
  return `    ${name} connectivity to ${p.ip}:\n      ICMP to stack:\t${outcomeText(p.icmp)}\n      HTTP to agent:\t${outcomeText(p.http)}\n`;
}

/** "OK, RTT=585.908µs", or the failure as the probe reported it. */
export function outcomeText(o: ProbeOutcome): string {
  if (o.ok) return `OK, RTT=${formatGoDuration(Math.round((o.rttMs ?? 0) * 1e6))}`;
  return o.error ?? "failed";
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
