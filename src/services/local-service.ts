import { parseIp } from "../state/index.js";
import { meshAnnotations, servicePorts, type Affinity, type Service, type ServicePort, type ServiceStatus } from "../resources/service.js";

/**
 * One local service as the operator keeps it: the Service object, the addresses the operator
 * allocated for it (absent until allocated), and its backends (absent until computed).
 */
export interface LocalServiceState {
  readonly service: Service;
  readonly status?: ServiceStatus;
  readonly endpoints?: LocalEndpointsInput;
}

/** The operator's ServiceEndpoints, or anything listing backends the same way. */
export interface LocalEndpointsInput {
  readonly backends: readonly LocalBackendInput[];
  readonly managedBy?: string;
}

/**
 * A backend as ServiceEndpoints lists it, plus Kubernetes' `terminating` condition: a pod being
 * deleted keeps serving the connections it has, but takes no new ones.
 */
export interface LocalBackendInput {
  readonly ip: string;
  readonly ready: boolean;
  readonly terminating?: boolean;
  readonly pod?: string;
  readonly node?: string;
}

/** What the mesh annotations mean for one local service, read once. */
export interface LocalServiceView {
  readonly namespace: string;
  readonly name: string;
  /** service.cilium.io/global: the service takes other clusters' backends. */
  readonly global: boolean;
  /** Exported to the mesh: global and service.cilium.io/shared (which only counts on a global service). */
  readonly shared: boolean;
  readonly affinity: Affinity;
  readonly ports: readonly ServicePort[];
  /** Backends that serve: ready, or terminating (kept for their open connections). */
  readonly backends: readonly ServingBackend[];
}

export interface ServingBackend {
  readonly ip: string;
  readonly terminating: boolean;
  readonly node?: string;
}

/** "namespace/name", the key the operator's maps and the trellis/ keys use. */
export function serviceRef(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/**
 * Reads a local service's annotations and backends. Throws the ManifestError of meshAnnotations
 * (naming the annotation and the value given) for an annotation that is not true/false or
 * local/remote/none.
 */
export function viewLocalService(state: LocalServiceState): LocalServiceView {
  const s = state.service;
  const mesh = meshAnnotations(s.metadata.annotations, s.metadata.name);
  return {
    namespace: s.metadata.namespace,
    name: s.metadata.name,
    global: mesh.global,
    shared: mesh.global && mesh.shared,
    affinity: mesh.affinity,
    ports: servicePorts(s),
    backends: servingBackends(state.endpoints?.backends ?? []),
  };
}

/**
 * Ready backends, and terminating ones; a backend that is neither is left out, as Kubernetes'
 * proxies leave out endpoints that are not serving. The first entry for an address wins.
 */
export function servingBackends(backends: readonly LocalBackendInput[]): ServingBackend[] {
  const out: ServingBackend[] = [];
  const seen = new Set<string>();
  for (const b of backends) {
    const terminating = b.terminating === true;
    if (!b.ready && !terminating) continue;
    if (seen.has(b.ip)) continue;
    seen.add(b.ip);
    out.push(b.node === undefined ? { ip: b.ip, terminating } : { ip: b.ip, terminating, node: b.node });
  }
  return out;
}

/**
 * Joins the operator's three maps (each keyed "namespace/name") into one state per service.
 * Statuses and endpoints without a service are ignored: they are leftovers the operator deletes.
 */
export function joinLocalServices(
  services: ReadonlyMap<string, Service>,
  statuses: ReadonlyMap<string, ServiceStatus> = new Map(),
  endpoints: ReadonlyMap<string, LocalEndpointsInput> = new Map(),
): LocalServiceState[] {
  const out: LocalServiceState[] = [];
  for (const [key, service] of services) {
    const status = statuses.get(key);
    const eps = endpoints.get(key);
    out.push({ service, ...(status ? { status } : {}), ...(eps ? { endpoints: eps } : {}) });
  }
  return out;
}

/** Orders addresses numerically (IPv4 before IPv6), unparsable text last, by text. */
export function compareIps(a: string, b: string): number {
  const pa = parseIp(a);
  const pb = parseIp(b);
  if (pa === undefined || pb === undefined) {
    if (pa !== pb) return pa === undefined ? 1 : -1;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (pa.bytes.length !== pb.bytes.length) return pa.bytes.length - pb.bytes.length;
  for (let i = 0; i < pa.bytes.length; i++) if (pa.bytes[i] !== pb.bytes[i]) return pa.bytes[i]! - pb.bytes[i]!;
  return 0;
}
