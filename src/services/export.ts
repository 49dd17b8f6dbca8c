import { clusterServiceKey, encodeClusterService, statePrefixOf, type ClusterServiceInput, type PortConfiguration, type ServicePort as L4Port } from "../state/index.js";
import { viewLocalService, serviceRef, type LocalServiceState } from "./local-service.js";

/**
 * Which local services a cluster exports to the mesh, and as what: a service that is global and
 * shared becomes a ClusterService at cilium/state/services/v1/<cluster>/<namespace>/<name>, in
 * the shape Cilium's own exporter writes:
 *   - frontends: the cluster IP -> service port name -> {protocol, service port};
 *   - backends: each ready local backend -> service port name -> {protocol, target port};
 *   - labels and selector of the Service, includeExternal (= global), shared, clusterID.
 * Terminating backends are not exported: another cluster must not send new connections to them.
 */

export interface ExportingCluster {
  readonly name: string;
  readonly id: number;
}

/** The ClusterService a local service exports, or undefined when it exports none. */
export function clusterServiceOf(cluster: ExportingCluster, state: LocalServiceState): ClusterServiceInput | undefined {
  const view = viewLocalService(state);
  if (!view.shared) return undefined;
  const s = state.service;
  const frontendPorts: Record<string, L4Port> = {};
  const backendPorts: Record<string, L4Port> = {};
  for (const p of view.ports) {
    const portName = p.name ?? "";
    frontendPorts[portName] = { protocol: p.protocol, port: p.port };
    backendPorts[portName] = { protocol: p.protocol, port: p.targetPort };
  }
  const frontends: Record<string, PortConfiguration> = {};
  // No cluster IP yet (the operator has not allocated one): the backends are worth sharing already.
  if (state.status?.clusterIP) frontends[state.status.clusterIP] = frontendPorts;
  const backends: Record<string, PortConfiguration> = {};
  for (const b of view.backends) if (!b.terminating) backends[b.ip] = backendPorts;
  return {
    cluster: cluster.name,
    clusterId: cluster.id,
    namespace: view.namespace,
    name: view.name,
    frontends,
    backends,
    labels: s.metadata.labels,
    selector: s.spec.selector ?? {},
    includeExternal: view.global,
    shared: true,
  };
}

export interface ExportProblem {
  /** "namespace/name" of the service. */
  readonly service: string;
  readonly message: string;
}

export interface DesiredExports {
  /** State key -> encoded ClusterService, for every service to export. */
  readonly exports: Map<string, string>;
  /** Services that could not be exported, each with the reason; the others are unaffected. */
  readonly problems: ExportProblem[];
}

/**
 * The full set of exports for the cluster's services. A service that stops being global or
 * shared, or is deleted, is simply absent; applyExports deletes what is absent.
 */
export function desiredExports(cluster: ExportingCluster, services: Iterable<LocalServiceState>): DesiredExports {
  const exports = new Map<string, string>();
  const problems: ExportProblem[] = [];
  for (const state of services) {
    const ref = serviceRef(state.service.metadata.namespace, state.service.metadata.name);
    try {
      const record = clusterServiceOf(cluster, state);
      if (record) exports.set(clusterServiceKey(record), encodeClusterService(record));
    } catch (e) {
      problems.push({ service: ref, message: (e as Error).message });
    }
  }
  return { exports, problems };
}

/** The part of the state Syncer that applyExports drives. */
export interface ExportWriter {
  upsert(key: string, value: string): void;
  delete(key: string): void;
  keys(): Iterable<string>;
}

/**
 * Makes the writer own exactly `desired` under the cluster's service prefix: upserts every
 * desired export (the Syncer skips unchanged ones) and deletes every owned export that is no
 * longer desired. Keys outside the prefix are left alone, so one Syncer can own other state too.
 * Returns the keys deleted.
 */
export function applyExports(writer: ExportWriter, cluster: string, desired: ReadonlyMap<string, string>): string[] {
  const prefix = statePrefixOf("services", cluster);
  const stale = [...writer.keys()].filter((k) => k.startsWith(prefix) && !desired.has(k));
  for (const [key, value] of desired) writer.upsert(key, value);
  for (const key of stale) writer.delete(key);
  return stale;
}
