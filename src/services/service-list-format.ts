import type { ServiceTableEntry } from "./service-table.js";

/**
 * `trellis service list`, as `cilium service list` prints it (cilium-dbg's table with its ID
 * column, the layout of the seed):
 *
 *   ID   Frontend                Service Type   Backend
 *   16   10.240.27.208:80        ClusterIP      1 => 172.25.0.160:80 (active) (preferred)
 *                                               2 => 172.25.0.12:80 (active) (preferred)
 *                                               3 => 172.26.0.31:80 (active)
 *
 * One row per frontend, sorted by ID; backends numbered from 1 on continuation lines; each with
 * its state (active, terminating) and, with --clustermesh-affinity, "(preferred)" on the
 * affinity's side. Columns are Go tabwriter columns (min width 5, padding 3) over the whole
 * table; trailing blanks, which Go's tabwriter leaves after the last column, are trimmed.
 * -o json prints the models: Cilium's REST API shape for GET /service.
 */

export interface FrontendAddressModel {
  readonly ip: string;
  readonly port: number;
  readonly protocol: string;
  readonly scope: "external";
}

export interface BackendAddressModel {
  readonly ip: string;
  readonly nodeName?: string;
  readonly port: number;
  /** Present (true) only on the affinity's side, as Go's omitempty leaves false out. */
  readonly preferred?: true;
  readonly protocol: string;
  readonly state: string;
}

export interface ServiceFlagsModel {
  readonly name: string;
  readonly namespace: string;
  readonly type: string;
}

export interface ServiceSpecModel {
  readonly "backend-addresses": readonly BackendAddressModel[];
  readonly flags: ServiceFlagsModel;
  readonly "frontend-address": FrontendAddressModel;
  readonly id: number;
}

export interface ServiceModel {
  readonly spec: ServiceSpecModel;
  readonly status: { readonly realized: ServiceSpecModel };
}

export interface ServiceListOptions {
  /** --clustermesh-affinity: mark backends on the affinity's side "(preferred)". */
  readonly clustermeshAffinity?: boolean;
}

/** The table's entries as Cilium's API models, in ID order (what the agent serves and -o json prints). */
export function serviceModels(entries: readonly ServiceTableEntry[]): ServiceModel[] {
  return [...entries]
    .sort((a, b) => a.id - b.id)
    .map((e) => {
      const spec: ServiceSpecModel = {
        "backend-addresses": e.backends.map((b) => ({
          ip: b.ip,
          ...(b.node !== undefined ? { nodeName: b.node } : {}),
          port: b.port,
          ...(b.preferred ? { preferred: true as const } : {}),
          protocol: b.protocol,
          state: b.state,
        })),
        flags: { name: e.name, namespace: e.namespace, type: e.frontend.type },
        "frontend-address": { ip: e.frontend.ip, port: e.frontend.port, protocol: e.frontend.protocol, scope: "external" },
        id: e.id,
      };
      return { spec, status: { realized: spec } };
    });
}

const HEADER = ["ID", "Frontend", "Service Type", "Backend"] as const;
const MIN_WIDTH = 5;
const PADDING = 3;

/** The text table. */
export function formatServiceList(models: readonly ServiceModel[], options: ServiceListOptions = {}): string {
  const rows: string[][] = [[...HEADER]];
  for (const m of [...models].sort((a, b) => a.spec.id - b.spec.id)) {
    const s = m.status.realized;
    const backends = s["backend-addresses"].map((b, i) => {
      const preferred = options.clustermeshAffinity === true && b.preferred === true ? " (preferred)" : "";
      return `${i + 1} => ${hostPort(b.ip, b.port)} (${b.state})${preferred}`;
    });
    rows.push([String(s.id), hostPort(s["frontend-address"].ip, s["frontend-address"].port), s.flags.type, backends[0] ?? ""]);
    for (const b of backends.slice(1)) rows.push(["", "", "", b]);
  }
  // Every line has a cell in every column, so each column is one tabwriter block as wide as its widest cell.
  const widths = HEADER.map((_, j) => Math.max(MIN_WIDTH, ...rows.map((r) => width(r[j]!) + PADDING)));
  return rows.map((r) => r.map((cell, j) => cell + " ".repeat(widths[j]! - width(cell))).join("").trimEnd() + "\n").join("");
}

/** -o json: the models, indented as Go's json.MarshalIndent(v, "", "  ") does. */
export function formatServiceListJson(models: readonly ServiceModel[]): string {
  return JSON.stringify(models, null, 2) + "\n";
}

/** Go's net.JoinHostPort: IPv6 in brackets. */
function hostPort(ip: string, port: number): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Go's tabwriter counts runes, not UTF-16 units. */
function width(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}
