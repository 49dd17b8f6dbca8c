import { MAX_CONNECTED_CLUSTERS_VALUES } from "../cluster/index.js";
import { checkClusterName, checkSameCluster, checkSameClusterId } from "./cluster-checks.js";
import {
  jsonString,
  jsonStringMap,
  optArray,
  optBool,
  optObject,
  optString,
  optStringMap,
  optUint,
  parseJsonObject,
  reject,
  reqString,
  setOwn,
  sortedKeys,
  type JsonObject,
  type Where,
} from "./go-json.js";
import { parseIp } from "./ip.js";
import { parseKey, serviceKey } from "./keys.js";
import { namespaceProblem, serviceNameProblem } from "./names.js";
import { RecordError, describeValue, jsonTypeOf, runDecoder, valueText, type DecodeContext, type DecodeResult } from "./record-error.js";

/**
 * A service as one cluster exports it to the mesh: Cilium's ClusterService (pkg/clustermesh/store)
 * at cilium/state/services/v1/<cluster>/<namespace>/<name>:
 *
 *   {"cluster":"c1","namespace":"default","name":"web",
 *    "frontends":{"198.19.1.10":{"http":{"Protocol":"TCP","Port":80}}},
 *    "backends":{"100.65.1.7":{"http":{"Protocol":"TCP","Port":8080}}},
 *    "labels":{"app":"web"},"selector":{"app":"web"},"includeExternal":true,"shared":true,"clusterID":1}
 *
 * frontends and backends map an address to its ports, by port name ("" for a service's single
 * unnamed port). "hostnames" (backend address -> pod hostname) and "zones" (backend address ->
 * topology zone) are written only when not empty, as in current Cilium.
 */

export type L4Protocol = "TCP" | "UDP" | "SCTP" | "ANY" | "NONE";

export const L4_PROTOCOLS: readonly L4Protocol[] = ["TCP", "UDP", "SCTP", "ANY", "NONE"];

export interface ServicePort {
  readonly protocol: L4Protocol;
  readonly port: number;
}

/** Port name -> port. */
export type PortConfiguration = Readonly<Record<string, ServicePort>>;

export interface BackendZone {
  /** Zone the backend runs in. */
  readonly zone: string;
  /** Zones whose clients should use this backend (topology-aware hints). */
  readonly forZones: readonly string[];
}

export interface ClusterServiceRecord {
  readonly cluster: string;
  readonly namespace: string;
  readonly name: string;
  /** Frontend address -> ports. */
  readonly frontends: Readonly<Record<string, PortConfiguration>>;
  /** Backend address -> ports. */
  readonly backends: Readonly<Record<string, PortConfiguration>>;
  /** Backend address -> hostname. */
  readonly hostnames: Readonly<Record<string, string>>;
  /** Backend address -> zone. */
  readonly zones: Readonly<Record<string, BackendZone>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly selector: Readonly<Record<string, string>>;
  /** The service wants other clusters' backends (service.cilium.io/global). */
  readonly includeExternal: boolean;
  /** The service offers its backends to other clusters (service.cilium.io/shared). */
  readonly shared: boolean;
  readonly clusterId: number;
}

/** What encodeClusterService needs; the rest defaults to empty. */
export type ClusterServiceInput = Pick<ClusterServiceRecord, "cluster" | "namespace" | "name" | "clusterId"> &
  Partial<Omit<ClusterServiceRecord, "cluster" | "namespace" | "name" | "clusterId">>;

const WHAT = "cluster service";
const PROTOCOLS = new Set<string>(L4_PROTOCOLS);
const MAX_CLUSTER_ID = Math.max(...MAX_CONNECTED_CLUSTERS_VALUES);

/**
 * Reads a cluster service stored at `key` (cilium/state/services/v1/<cluster>/<ns>/<name> or
 * KVStoreMesh's cilium/cache/services/v1/<cluster>/<ns>/<name>). cluster, namespace and name
 * must match the key; with `ctx.cluster`, cluster and clusterID must be that cluster's.
 */
export function decodeClusterService(key: string, value: Buffer | Uint8Array | string, ctx?: DecodeContext): DecodeResult<ClusterServiceRecord> {
  return runDecoder(key, WHAT, () => readService(key, value, ctx));
}

function readService(key: string, value: unknown, ctx: DecodeContext | undefined): ClusterServiceRecord {
  const where: Where = { key, what: WHAT };
  const source = ctx?.cluster;
  const parsed = parseKey(key);
  if (parsed?.type !== "service") {
    reject(where, "invalid-key", undefined, "the key is not a service key (cilium/state/services/v1/<cluster>/<namespace>/<name> or cilium/cache/services/v1/...)");
  }
  checkClusterName(where, parsed.cluster, undefined, "the key's cluster name");
  checkSameCluster(where, source, parsed.cluster, undefined);

  const o = parseJsonObject(where, valueText(key, WHAT, value));
  const cluster = reqString(where, o, "cluster");
  checkClusterName(where, cluster, "cluster");
  const namespace = reqString(where, o, "namespace");
  const nsWhy = namespaceProblem(namespace);
  if (nsWhy !== undefined) reject(where, "invalid-name", "namespace", `namespace ${describeValue(namespace)} is invalid: ${nsWhy}`);
  const name = reqString(where, o, "name");
  const nameWhy = serviceNameProblem(name);
  if (nameWhy !== undefined) reject(where, "invalid-name", "name", `service name ${describeValue(name)} is invalid: ${nameWhy}`);
  if (cluster !== parsed.cluster || namespace !== parsed.namespace || name !== parsed.name) {
    const fieldAtFault = cluster !== parsed.cluster ? "cluster" : namespace !== parsed.namespace ? "namespace" : "name";
    reject(where, "key-mismatch", fieldAtFault, `the record is service ${describeValue(`${cluster}/${namespace}/${name}`)}, but its key names ${describeValue(`${parsed.cluster}/${parsed.namespace}/${parsed.name}`)}`);
  }

  const clusterId = optUint(where, o, "clusterID", 0xffffffff) ?? 0;
  if (source !== undefined) checkSameClusterId(where, source, clusterId, "clusterID");
  else if (clusterId > MAX_CLUSTER_ID) reject(where, "invalid-value", "clusterID", `must be a cluster ID from 0 to ${MAX_CLUSTER_ID} (got ${clusterId})`);

  return {
    cluster,
    namespace,
    name,
    frontends: readAddressPorts(where, o, "frontends"),
    backends: readAddressPorts(where, o, "backends"),
    hostnames: readHostnames(where, o),
    zones: readZones(where, o),
    labels: optStringMap(where, o, "labels"),
    selector: optStringMap(where, o, "selector"),
    includeExternal: optBool(where, o, "includeExternal") ?? false,
    shared: optBool(where, o, "shared") ?? false,
    clusterId,
  };
}

function addressKey(where: Where, text: string, path: string): string {
  const ip = parseIp(text);
  if (ip === undefined) reject(where, "invalid-ip", path, `is keyed by ${describeValue(text)}, which is not an IP address`);
  return ip.text;
}

function asObject(where: Where, value: unknown, path: string, expected: string): JsonObject {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    reject(where, "wrong-type", path, `must be ${expected} (got ${jsonTypeOf(value)} ${describeValue(value)})`);
  }
  return value as JsonObject;
}

function readAddressPorts(where: Where, o: JsonObject, name: string): Record<string, PortConfiguration> {
  const byAddress = optObject(where, o, name);
  const out: Record<string, PortConfiguration> = {};
  if (byAddress === undefined) return out;
  for (const address of Object.keys(byAddress)) {
    const path = `${name}.${address}`;
    const ip = addressKey(where, address, path);
    const raw = byAddress[address];
    const ports: Record<string, ServicePort> = {};
    if (raw !== null) {
      const byName = asObject(where, raw, path, "an object of port name -> {Protocol, Port}");
      for (const portName of Object.keys(byName)) {
        const portPath = `${path}.${portName}`;
        const entry = byName[portName];
        if (entry === null) continue; // a nil *L4Addr; Cilium would skip it too
        const l4 = asObject(where, entry, portPath, "an object with Protocol and Port");
        const protocol = reqString(where, l4, "Protocol", `${portPath}.Protocol`);
        if (!PROTOCOLS.has(protocol)) reject(where, "invalid-value", `${portPath}.Protocol`, `must be one of ${L4_PROTOCOLS.join(", ")} (got ${describeValue(protocol)})`);
        const port = optUint(where, l4, "Port", 65535, `${portPath}.Port`) ?? 0;
        setOwn(ports, portName, { protocol: protocol as L4Protocol, port });
      }
    }
    setOwn(out, ip, ports);
  }
  return out;
}

function readHostnames(where: Where, o: JsonObject): Record<string, string> {
  const raw = optStringMap(where, o, "hostnames");
  const out: Record<string, string> = {};
  for (const address of Object.keys(raw)) setOwn(out, addressKey(where, address, `hostnames.${address}`), raw[address]!);
  return out;
}

function readZones(where: Where, o: JsonObject): Record<string, BackendZone> {
  const raw = optObject(where, o, "zones");
  const out: Record<string, BackendZone> = {};
  if (raw === undefined) return out;
  for (const address of Object.keys(raw)) {
    const path = `zones.${address}`;
    const ip = addressKey(where, address, path);
    if (raw[address] === null) continue;
    const z = asObject(where, raw[address], path, "an object with zone and forZones");
    const forZones: string[] = [];
    const list = optArray(where, z, "forZones", `${path}.forZones`) ?? [];
    for (let i = 0; i < list.length; i++) {
      const fz = asObject(where, list[i], `${path}.forZones[${i}]`, "an object with name");
      forZones.push(optString(where, fz, "name", `${path}.forZones[${i}].name`) ?? "");
    }
    setOwn(out, ip, { zone: optString(where, z, "zone", `${path}.zone`) ?? "", forZones });
  }
  return out;
}

// ---- encoding ----

function portsJson(ports: PortConfiguration): string {
  return `{${sortedKeys(ports)
    .map((n) => `${jsonString(n)}:{"Protocol":${jsonString(ports[n]!.protocol)},"Port":${ports[n]!.port}}`)
    .join(",")}}`;
}

function addressPortsJson(m: Readonly<Record<string, PortConfiguration>>): string {
  const canonical = canonicalAddresses(m);
  return `{${sortedKeys(canonical)
    .map((a) => `${jsonString(a)}:${portsJson(canonical[a]!)}`)
    .join(",")}}`;
}

/** Address keys rewritten as Go prints them, so that the written key is the one decode yields. */
function canonicalAddresses<T>(m: Readonly<Record<string, T>>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const a of Object.keys(m)) setOwn(out, parseIp(a)?.text ?? a, m[a]!);
  return out;
}

function zonesJson(m: Readonly<Record<string, BackendZone>>): string {
  const canonical = canonicalAddresses(m);
  return `{${sortedKeys(canonical)
    .map((a) => {
      const z = canonical[a]!;
      const forZones = z.forZones.length === 0 ? "null" : `[${z.forZones.map((n) => `{"name":${jsonString(n)}}`).join(",")}]`;
      return `${jsonString(a)}:{"zone":${jsonString(z.zone)},"forZones":${forZones}}`;
    })
    .join(",")}}`;
}

/** The state key for a service (cilium/state/services/v1/<cluster>/<namespace>/<name>). */
export function clusterServiceKey(service: Pick<ClusterServiceRecord, "cluster" | "namespace" | "name">): string {
  try {
    return serviceKey(service.cluster, service.namespace, service.name);
  } catch (e) {
    const key = `cilium/state/services/v1/${String(service.cluster)}/${String(service.namespace)}/${String(service.name)}`;
    throw new RecordError("invalid-name", key, undefined, `${WHAT} ${key}: ${(e as Error).message}`);
  }
}

/**
 * The JSON Cilium writes for this service, field for field. Throws a RecordError when the
 * service is one decodeClusterService would refuse (checked against its own key).
 */
export function encodeClusterService(service: ClusterServiceInput): string {
  const key = clusterServiceKey(service);
  const hostnames = canonicalAddresses(service.hostnames ?? {});
  const zones = service.zones ?? {};
  let out =
    `{"cluster":${jsonString(service.cluster)},"namespace":${jsonString(service.namespace)},"name":${jsonString(service.name)}` +
    `,"frontends":${addressPortsJson(service.frontends ?? {})},"backends":${addressPortsJson(service.backends ?? {})}`;
  if (Object.keys(hostnames).length > 0) out += `,"hostnames":${jsonStringMap(hostnames, "{}")}`;
  if (Object.keys(zones).length > 0) out += `,"zones":${zonesJson(zones)}`;
  out +=
    `,"labels":${jsonStringMap(service.labels ?? {}, "{}")},"selector":${jsonStringMap(service.selector ?? {}, "{}")}` +
    `,"includeExternal":${service.includeExternal === true},"shared":${service.shared === true},"clusterID":${service.clusterId}}`;
  const check = decodeClusterService(key, out);
  if (!check.ok) throw check.error;
  return out;
}
