import type { ClusterMeshStatus, KvStoreMeshStatus } from "../status.js";
import type { MeshCertificate } from "./mesh-certificates.js";
import type { MeshSettings } from "./mesh-settings.js";

/** What one agent published about itself (trellis/status/agents/<node>). */
export interface AgentReport {
  readonly node: string;
  readonly ready: boolean;
  readonly mode?: "cache" | "direct";
  readonly clustermesh?: ClusterMeshStatus;
  readonly updatedAt: string;
}

export interface MeshStatusInput {
  readonly cluster: string;
  readonly settings?: MeshSettings;
  /** Addresses peers dial, once assigned. */
  readonly endpoints?: readonly string[];
  readonly nodes: readonly string[];
  readonly agents: readonly AgentReport[];
  readonly kvstoremesh?: { status: KvStoreMeshStatus; updatedAt: string };
  readonly globalServices: number;
  /** The client certificates the mesh depends on (meshCertificates). */
  readonly certificates?: readonly MeshCertificate[];
  readonly now?: number;
}

export interface PeerConnections {
  readonly name: string;
  readonly configured: number;
  readonly connected: number;
  readonly total: number;
  readonly kvstoremesh?: { configured: number; connected: number; total: number };
  readonly errors: string[];
}

export interface MeshStatusReport {
  readonly cluster: string;
  readonly enabled: boolean;
  readonly serviceType?: string;
  readonly endpoints: readonly string[];
  readonly kvstoremesh: boolean;
  readonly nodes: { readonly total: number; readonly connectedToAll: number; readonly min: number; readonly avg: number; readonly max: number };
  readonly kvstoremeshReplicas?: { readonly total: number; readonly connectedToAll: number; readonly min: number; readonly avg: number; readonly max: number };
  readonly connections: readonly PeerConnections[];
  readonly globalServices: number;
  readonly certificates: readonly MeshCertificate[];
  /** Empty when everything is ready; otherwise what `--wait` is still waiting for. */
  readonly waitingFor: readonly string[];
}

/** A report older than this is from an agent that stopped (they publish every 10 s). */
export const STALE_REPORT_MS = 35_000;

function stats(values: number[]): { min: number; avg: number; max: number } {
  if (!values.length) return { min: 0, avg: 0, max: 0 };
  return { min: Math.min(...values), avg: values.reduce((a, b) => a + b, 0) / values.length, max: Math.max(...values) };
}

/** Folds the agents' and KVStoreMesh's reports into Cilium's `clustermesh status` picture. */
export function meshStatusReport(i: MeshStatusInput): MeshStatusReport {
  const now = i.now ?? Date.now();
  const fresh = (t: string) => now - Date.parse(t) < STALE_REPORT_MS;
  const enabled = Boolean(i.settings?.enabled);
  const waiting: string[] = [];
  if (!enabled) waiting.push(`cluster mesh is not enabled (run "trellis clustermesh enable")`);
  if (enabled && !i.endpoints?.length) waiting.push(`the ${i.settings?.serviceType} address of service clustermesh-apiserver to be assigned`);

  const kvsm = enabled && Boolean(i.settings?.kvstoremesh);
  const km = i.kvstoremesh && fresh(i.kvstoremesh.updatedAt) ? i.kvstoremesh.status : undefined;
  if (kvsm && !km) waiting.push("KVStoreMesh to report");

  // Peers: the union of what KVStoreMesh and the agents have configured.
  const peerNames = new Set<string>();
  for (const c of km?.clusters ?? []) peerNames.add(c.name);
  const reports = new Map(i.agents.filter((a) => fresh(a.updatedAt)).map((a) => [a.node, a]));
  for (const a of reports.values()) for (const c of a.clustermesh?.clusters ?? []) peerNames.add(c.name);

  const connections: PeerConnections[] = [...peerNames].sort().map((name) => {
    const errors: string[] = [];
    let configured = 0;
    let connected = 0;
    for (const node of i.nodes) {
      const c = reports.get(node)?.clustermesh?.clusters.find((x) => x.name === name);
      if (!c) continue;
      configured++;
      if (c.ready) connected++;
      else if (c.notUsedReason) errors.push(`${node}: ${c.notUsedReason}`);
      else if (c.lastError) errors.push(`${node}: ${c.lastError}`);
    }
    const k = km?.clusters.find((x) => x.name === name);
    if (k && !k.ready) errors.push(`KVStoreMesh: ${k.notUsedReason ?? k.lastError ?? "not ready yet"}`);
    return { name, configured, connected, total: i.nodes.length, kvstoremesh: kvsm ? { configured: k ? 1 : 0, connected: k?.ready ? 1 : 0, total: 1 } : undefined, errors: [...new Set(errors)].slice(0, 5) };
  });

  const perNode = i.nodes.map((n) => (reports.get(n)?.clustermesh?.clusters ?? []).filter((c) => c.ready).length);
  const connectedToAll = i.nodes.filter((n) => {
    const r = reports.get(n);
    if (!r?.ready) return false;
    const cl = r.clustermesh?.clusters ?? [];
    return [...peerNames].every((p) => cl.some((c) => c.name === p && c.ready));
  }).length;
  for (const n of i.nodes) if (!reports.get(n)?.ready) waiting.push(`the agent on ${n} to report`);
  if (connectedToAll < i.nodes.length && peerNames.size) waiting.push(`${i.nodes.length - connectedToAll} of ${i.nodes.length} nodes to connect to every cluster`);
  for (const c of connections) if (c.kvstoremesh && c.kvstoremesh.connected < 1) waiting.push(`KVStoreMesh to connect to ${c.name}`);

  return {
    cluster: i.cluster,
    enabled,
    serviceType: i.settings?.serviceType,
    endpoints: i.endpoints ?? [],
    kvstoremesh: kvsm,
    nodes: { total: i.nodes.length, connectedToAll, ...stats(perNode) },
    kvstoremeshReplicas: kvsm ? { total: 1, connectedToAll: km && km.ready === km.total ? 1 : 0, ...stats(km ? [km.ready] : [0]) } : undefined,
    connections,
    globalServices: i.globalServices,
    certificates: i.certificates ?? [],
    waitingFor: [...new Set(waiting)],
  };
}

const ok = (b: boolean) => (b ? "✅" : "❌");

/** Cilium CLI's layout of `cilium clustermesh status`. */
export function formatMeshStatus(r: MeshStatusReport): string {
  const out: string[] = [];
  if (!r.enabled) return "❌ Cluster mesh is not enabled: run \"trellis clustermesh enable\"\n";
  out.push(`✅ Service "clustermesh-apiserver" of type "${r.serviceType}" found`);
  if (r.endpoints.length) {
    out.push("✅ Cluster access information is available:");
    for (const e of r.endpoints) out.push(`  - ${e.replace(/^https:\/\//, "")}`);
  } else out.push("⌛ Cluster access information is not available yet (address pending)");
  out.push(r.kvstoremesh ? "ℹ️  KVStoreMesh is enabled" : "ℹ️  KVStoreMesh is disabled");
  for (const c of r.certificates) {
    const what = c.name === "remote" ? `Certificate of user "remote" valid until ${c.notAfter}` : `Certificate for ${c.name} (a copy of its remote certificate) valid until ${c.notAfter}`;
    out.push(`${c.attention ? "⚠️ " : "🔐"} ${what}${c.renewedHere ? ", renewed automatically" : ""}`);
    if (c.attention) out.push(`    ${c.attention}`);
  }
  out.push("");
  const n = r.nodes;
  const fmt = (s: { min: number; avg: number; max: number }) => `[min:${s.min} / avg:${s.avg.toFixed(1)} / max:${s.max}]`;
  if (r.connections.length === 0) out.push("ℹ️  No remote clusters configured: connect one with \"trellis clustermesh connect\"");
  else {
    out.push(`${ok(n.connectedToAll === n.total)} ${n.connectedToAll === n.total ? "All " : `${n.connectedToAll}/`}${n.total} nodes are connected to all clusters ${fmt(n)}`);
    if (r.kvstoremeshReplicas) {
      const k = r.kvstoremeshReplicas;
      out.push(`${ok(k.connectedToAll === k.total)} ${k.connectedToAll === k.total ? "All " : `${k.connectedToAll}/`}${k.total} KVStoreMesh replicas are connected to all clusters ${fmt(k)}`);
    }
    out.push("");
    out.push("🔌 Cluster Connections:");
    for (const c of r.connections) {
      const km = c.kvstoremesh ? ` - KVStoreMesh: ${c.kvstoremesh.configured}/${c.kvstoremesh.total} configured, ${c.kvstoremesh.connected}/${c.kvstoremesh.total} connected` : "";
      out.push(`  - ${c.name}: ${c.configured}/${c.total} configured, ${c.connected}/${c.total} connected${km}`);
      for (const e of c.errors) out.push(`    ⚠️  ${e}`);
    }
  }
  out.push("");
  out.push(`🔀 Global services: [ min:${r.globalServices} / avg:${r.globalServices.toFixed(1)} / max:${r.globalServices} ]`);
  return out.join("\n") + "\n";
}
