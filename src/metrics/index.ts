/**
 * Prometheus metrics: one registry per daemon (never prom-client's global one), each daemon's
 * metrics defined in one place, read from the components' status at scrape time where they have
 * one, and served on `GET /metrics`. The lowest layer, as src/log: any layer may import it, and it
 * imports none (what it reads is described by the small *View interfaces here).
 */
export { AGENT_METRICS_ADDR, AgentMetrics, type AgentView } from "./agent-metrics.js";
export { KVSTOREMESH_METRICS_ADDR, KvStoreMeshMetrics } from "./kvstoremesh-metrics.js";
export { OPERATOR_METRICS_ADDR, OperatorMetrics } from "./operator-metrics.js";
export { scopeOfKey, type KvOperationView } from "./kvstore-metrics.js";
export type { MeshView, RemoteClusterView } from "./mesh-metrics.js";
export type { HealthReportView } from "./health-metrics.js";
export type { ReconcileView } from "./datapath-metrics.js";
export { createRegistry, Registry } from "./registry.js";
export { parseServeAddress, serveMetrics, type MetricsServer, type ServeAddress } from "./serve.js";
