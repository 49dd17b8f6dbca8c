import { Histogram, type Registry } from "prom-client";
import { collectedGauge, type Labels } from "./registry.js";

/** What the metrics read of a health report (src/health/types.ts). */
export interface ProbeView {
  readonly ok: boolean;
  readonly rttMs?: number;
}

export interface PathView {
  readonly icmp: ProbeView;
  readonly http: ProbeView;
}

export interface HealthReportView {
  readonly nodes: readonly { readonly host: PathView; readonly endpoint?: PathView }[];
}

export interface HealthSource {
  /** source_cluster and source_node_name. */
  readonly labels: Labels;
  latest(): HealthReportView | undefined;
}

type PathType = "node" | "endpoint";

/** Seconds; probes inside a lab take tens of microseconds, across a WAN tens of milliseconds. */
const RTT_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

function reachability(path: PathView | undefined): "reachable" | "unreachable" | "unknown" {
  if (path === undefined) return "unknown";
  return path.icmp.ok && path.http.ok ? "reachable" : "unreachable";
}

/**
 * Cilium's node health metrics: how many nodes (type="node", the node's IP) and health endpoints
 * (type="endpoint") the last probe round found reachable, and a histogram of every successful
 * probe's round-trip time. Returns the function that records a finished round.
 */
export function registerHealthMetrics(
  registry: Registry,
  names: { readonly status: string; readonly latency: string },
  source: () => HealthSource | undefined,
): (report: HealthReportView, labels: Labels) => void {
  collectedGauge(
    registry,
    { name: names.status, help: "The number of nodes (type=node) and health endpoints (type=endpoint) the last probe round found reachable (ICMP and HTTP answered), unreachable, or could not probe (unknown)", labelNames: ["source_cluster", "source_node_name", "type", "status"] },
    function* () {
      const s = source();
      const report = s?.latest();
      if (!s || !report) return;
      for (const type of ["node", "endpoint"] as const) {
        const counts = { reachable: 0, unreachable: 0, unknown: 0 };
        for (const n of report.nodes) counts[reachability(type === "node" ? n.host : n.endpoint)]++;
        for (const [status, count] of Object.entries(counts)) yield [{ ...s.labels, type, status }, count];
      }
    },
  );
  const latency = new Histogram({
    name: names.latency,
    help: "Round-trip times of successful health probes in seconds, by path (type=node|endpoint) and protocol (icmp|http)",
    labelNames: ["source_cluster", "source_node_name", "type", "address_type", "protocol"],
    buckets: RTT_BUCKETS,
    registers: [registry],
  });
  return (report, labels) => {
    const observe = (type: PathType, path: PathView | undefined) => {
      if (!path) return;
      for (const protocol of ["icmp", "http"] as const) {
        const probe = path[protocol];
        if (probe.ok && probe.rttMs !== undefined) latency.observe({ ...labels, type, address_type: "primary", protocol }, probe.rttMs / 1000);
      }
    };
    for (const n of report.nodes) {
      observe("node", n.host);
      observe("endpoint", n.endpoint);
    }
  };
}
