import { diagnose, type DiagnoseOptions, type HealthHint } from "./diagnose.js";
import { formatGoDuration } from "./go-duration.js";
import { formatProbeTime, nodeIsHealthy, orderedNodes } from "./status-format.js";
import { targetName, type HealthReport, type PathResult, type ProbeOutcome } from "./types.js";

/**
 * `trellis health status -o json`: Cilium's HealthStatusResponse shape (api/v1/health), so scripts
 * written against `cilium-health status -o json` keep working, with a few Trellis fields added.
 *
 *   {
 *     "timestamp": "2024-05-01T10:00:00Z",          probe round start (RFC 3339)
 *     "probeInterval": "1m0s",                      Go duration, as Cilium writes it
 *     "local": { "name": "cluster-1/node-1" },      absent when no target is local
 *     "summary": { "reachable": 1, "total": 2 },     Trellis: the header's numbers
 *     "nodes": [{
 *       "name": "cluster-1/node-1", "cluster": "cluster-1", "node": "node-1",   (cluster, node,
 *       "local": true, "healthy": true,                                          local, healthy: Trellis)
 *       "host": { "primary-address": PATH },
 *       "health-endpoint": { "primary-address": PATH }                           absent without one
 *     }],
 *     "hints": [{ "node": "cluster-2/node-1", "code": "tcp-4240-blocked", "message": "..." }]   Trellis
 *   }
 *   PATH = { "ip": "...", "icmp": STATUS, "http": STATUS }
 *   STATUS = { "latency": <RTT in ns>, "lastProbed": "<RFC 3339>" } when OK,
 *            { "status": "<error>", "lastProbed": "<RFC 3339>" } when not (Cilium: empty status = OK)
 *
 * Nodes are in the text output's order: the local node first, then by name.
 */

export interface ConnectivityStatusJson {
  readonly latency?: number;
  readonly status?: string;
  readonly lastProbed: string;
}

export interface PathStatusJson {
  readonly ip: string;
  readonly icmp: ConnectivityStatusJson;
  readonly http: ConnectivityStatusJson;
}

export interface NodeStatusJson {
  readonly name: string;
  readonly cluster: string;
  readonly node: string;
  readonly local: boolean;
  readonly healthy: boolean;
  readonly host: { readonly "primary-address": PathStatusJson };
  readonly "health-endpoint"?: { readonly "primary-address": PathStatusJson };
}

export interface HealthStatusJson {
  readonly timestamp: string;
  readonly probeInterval: string;
  readonly local?: { readonly name: string };
  readonly summary: { readonly reachable: number; readonly total: number };
  readonly nodes: readonly NodeStatusJson[];
  readonly hints: readonly HealthHint[];
}

export function healthStatusJson(report: HealthReport, options: DiagnoseOptions = {}): HealthStatusJson {
  const nodes = orderedNodes(report.nodes);
  const local = nodes.find((n) => n.local);
  const json = (o: ProbeOutcome, lastProbed: string): ConnectivityStatusJson =>
    o.ok ? { latency: Math.round((o.rttMs ?? 0) * 1e6), lastProbed } : { status: o.error ?? "failed", lastProbed };
  const path = (p: PathResult, lastProbed: string): PathStatusJson => ({ ip: p.ip, icmp: json(p.icmp, lastProbed), http: json(p.http, lastProbed) });
  return {
    timestamp: formatProbeTime(report.probeTime),
    probeInterval: formatGoDuration(report.intervalMs * 1e6),
    ...(local ? { local: { name: targetName(local) } } : {}),
    summary: { reachable: nodes.filter(nodeIsHealthy).length, total: nodes.length },
    nodes: nodes.map((n) => ({
      name: targetName(n),
      cluster: n.cluster,
      node: n.node,
      local: n.local,
      healthy: nodeIsHealthy(n),
      host: { "primary-address": path(n.host, n.lastProbed) },
      ...(n.endpoint ? { "health-endpoint": { "primary-address": path(n.endpoint, n.lastProbed) } } : {}),
    })),
    hints: diagnose(nodes, options),
  };
}
