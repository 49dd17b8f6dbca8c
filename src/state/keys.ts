import { MAX_GLOBAL_IDENTITY, clusterNameProblem } from "../cluster/index.js";
import { parseCidr, parseIp } from "./ip.js";
import { namespaceProblem, nodeNameProblem, serviceNameProblem } from "./names.js";

/**
 * Cilium's kvstore layout, so that `etcdctl get --prefix cilium/` on a Trellis etcd reads like a
 * Cilium one:
 *
 *   cilium/state/nodes/v1/<cluster>/<node>               node
 *   cilium/state/identities/v1/id/<id>                   identity -> label string
 *   cilium/state/identities/v1/value/<labels>/<node-ip>  identity reference held by one node -> id
 *   cilium/state/ip/v1/default/<ip or cidr>              ipcache entry
 *   cilium/state/services/v1/<cluster>/<ns>/<name>       cluster service
 *   cilium/cluster-config/<cluster>                      cluster configuration
 *   cilium/synced/<cluster>/<prefix>                     sync canary: <cluster> has written all of <prefix>
 *   cilium/.heartbeat                                    heartbeat
 *
 * KVStoreMesh caches each remote cluster's state in the local etcd, one subtree per cluster:
 *
 *   cilium/cache/nodes/v1/<cluster>/<node>
 *   cilium/cache/identities/v1/<cluster>/id/<id>
 *   cilium/cache/ip/v1/<cluster>/<ip or cidr>
 *   cilium/cache/services/v1/<cluster>/<ns>/<name>
 *
 * Identity value keys (the per-node references) are never exported to other clusters: the
 * clustermesh-apiserver publishes, and KVStoreMesh caches, only the `id/` keys. The node suffix
 * of a value key is the node's IP (Cilium's GetNodeSuffix), and since the label string may itself
 * contain '/', the suffix is whatever follows the last '/'.
 */

export const KVSTORE_BASE = "cilium";
export const STATE_PREFIX = "cilium/state";
export const CACHE_PREFIX = "cilium/cache";
export const NODES_PREFIX = "cilium/state/nodes/v1";
export const IDENTITIES_PREFIX = "cilium/state/identities/v1";
export const IPCACHE_PREFIX = "cilium/state/ip/v1";
export const SERVICES_PREFIX = "cilium/state/services/v1";
export const CLUSTER_CONFIG_PREFIX = "cilium/cluster-config";
export const SYNCED_PREFIX = "cilium/synced";
export const HEARTBEAT_KEY = "cilium/.heartbeat";
/** The only ipcache address space Cilium uses. */
export const IPCACHE_ADDRESS_SPACE = "default";

/** The four kinds of state a cluster exports to the mesh. */
export type StateKind = "nodes" | "identities" | "ip" | "services";
export const STATE_KINDS: readonly StateKind[] = ["nodes", "identities", "ip", "services"];

/**
 * The prefix each kind lives under. It is also the name of the kind's sync canary: a cluster
 * that has written all its nodes creates `cilium/synced/<cluster>/cilium/state/nodes/v1`.
 */
export const STATE_KIND_PREFIX: Readonly<Record<StateKind, string>> = {
  nodes: NODES_PREFIX,
  identities: IDENTITIES_PREFIX,
  ip: IPCACHE_PREFIX,
  services: SERVICES_PREFIX,
};

export type KeyStore = "state" | "cache";

// ---- builders (they refuse segments that would break the layout) ----

function requireCluster(cluster: string): string {
  const why = typeof cluster === "string" ? clusterNameProblem(cluster) : "it must be a string";
  if (why !== undefined) throw new TypeError(`cluster name ${JSON.stringify(cluster)} cannot be used in a key: ${why}`);
  return cluster;
}

function requireNode(node: string): string {
  const why = typeof node === "string" ? nodeNameProblem(node) : "it must be a string";
  if (why !== undefined) throw new TypeError(`node name ${JSON.stringify(node)} cannot be used in a key: ${why}`);
  return node;
}

function requireNamespace(namespace: string): string {
  const why = typeof namespace === "string" ? namespaceProblem(namespace) : "it must be a string";
  if (why !== undefined) throw new TypeError(`namespace ${JSON.stringify(namespace)} cannot be used in a key: ${why}`);
  return namespace;
}

function requireServiceName(name: string): string {
  const why = typeof name === "string" ? serviceNameProblem(name) : "it must be a string";
  if (why !== undefined) throw new TypeError(`service name ${JSON.stringify(name)} cannot be used in a key: ${why}`);
  return name;
}

function requireIdentity(id: number): number {
  if (!Number.isInteger(id) || id < 1 || id > MAX_GLOBAL_IDENTITY) {
    throw new TypeError(`identity ${JSON.stringify(id)} cannot be used in a key: it must be a global identity, an integer from 1 to ${MAX_GLOBAL_IDENTITY}`);
  }
  return id;
}

/** An ipcache key segment: an address or address/length, written as Go prints it. */
function requireIpcacheName(ip: string): string {
  if (typeof ip === "string") {
    if (ip.includes("/")) {
      const cidr = parseCidr(ip);
      if ("text" in cidr) return cidr.text;
      throw new TypeError(`ipcache prefix ${JSON.stringify(ip)} cannot be used in a key: ${cidr.problem}`);
    }
    const parsed = parseIp(ip);
    if (parsed !== undefined) return parsed.text;
  }
  throw new TypeError(`ipcache address ${JSON.stringify(ip)} cannot be used in a key: it must be an IPv4 or IPv6 address, or address/length`);
}

export function nodeKey(cluster: string, node: string): string {
  return `${NODES_PREFIX}/${requireCluster(cluster)}/${requireNode(node)}`;
}

export function identityKey(id: number): string {
  return `${IDENTITIES_PREFIX}/id/${requireIdentity(id)}`;
}

/** The reference a node holds on an identity; its value is the identity number. */
export function identityValueKey(labelList: string, nodeSuffix: string): string {
  if (typeof labelList !== "string" || !labelList.endsWith(";")) {
    throw new TypeError(`label list ${JSON.stringify(labelList)} cannot be used in a key: it must be a kvstore label string ending in ';'`);
  }
  if (typeof nodeSuffix !== "string" || parseIp(nodeSuffix) === undefined) {
    throw new TypeError(`node suffix ${JSON.stringify(nodeSuffix)} cannot be used in a key: it must be the node's IP address`);
  }
  return `${IDENTITIES_PREFIX}/value/${labelList}/${nodeSuffix}`;
}

/** `ip` is a host address (10.0.0.1) or a prefix (10.0.0.0/24); it is written as Go prints it. */
export function ipcacheKey(ip: string): string {
  return `${IPCACHE_PREFIX}/${IPCACHE_ADDRESS_SPACE}/${requireIpcacheName(ip)}`;
}

export function serviceKey(cluster: string, namespace: string, name: string): string {
  return `${SERVICES_PREFIX}/${requireCluster(cluster)}/${requireNamespace(namespace)}/${requireServiceName(name)}`;
}

export function clusterConfigKey(cluster: string): string {
  return `${CLUSTER_CONFIG_PREFIX}/${requireCluster(cluster)}`;
}

/** The canary `cluster` writes once all of `prefix` (e.g. "cilium/state/nodes/v1") is written. */
export function syncCanaryKey(cluster: string, prefix: string): string {
  if (typeof prefix !== "string" || !prefix.startsWith(`${KVSTORE_BASE}/`) || prefix.endsWith("/")) {
    throw new TypeError(`sync canary prefix ${JSON.stringify(prefix)} must be a kvstore prefix such as "${NODES_PREFIX}" (no trailing '/')`);
  }
  return `${SYNCED_PREFIX}/${requireCluster(cluster)}/${prefix}`;
}

/** The canary of one kind: for `store` "cache", the one KVStoreMesh writes for its copy. */
export function syncCanaryKeyOf(kind: StateKind, cluster: string, store: KeyStore = "state"): string {
  const prefix = STATE_KIND_PREFIX[kind];
  return syncCanaryKey(cluster, store === "state" ? prefix : stateToCachePrefix(prefix));
}

export function cachedNodeKey(cluster: string, node: string): string {
  return `${CACHE_PREFIX}/nodes/v1/${requireCluster(cluster)}/${requireNode(node)}`;
}

export function cachedIdentityKey(cluster: string, id: number): string {
  return `${CACHE_PREFIX}/identities/v1/${requireCluster(cluster)}/id/${requireIdentity(id)}`;
}

export function cachedIpcacheKey(cluster: string, ip: string): string {
  return `${CACHE_PREFIX}/ip/v1/${requireCluster(cluster)}/${requireIpcacheName(ip)}`;
}

export function cachedServiceKey(cluster: string, namespace: string, name: string): string {
  return `${CACHE_PREFIX}/services/v1/${requireCluster(cluster)}/${requireNamespace(namespace)}/${requireServiceName(name)}`;
}

// ---- prefixes and the state -> cache mapping ----

/** Where a cluster's records of `kind` live in its own etcd (with a trailing '/', for listing). */
export function statePrefixOf(kind: StateKind, cluster: string): string {
  requireCluster(cluster);
  switch (kind) {
    case "nodes":
      return `${NODES_PREFIX}/${cluster}/`;
    case "services":
      return `${SERVICES_PREFIX}/${cluster}/`;
    case "identities":
      return `${IDENTITIES_PREFIX}/id/`;
    case "ip":
      return `${IPCACHE_PREFIX}/${IPCACHE_ADDRESS_SPACE}/`;
  }
}

/** Where KVStoreMesh keeps its copy of `cluster`'s records of `kind` (trailing '/'). */
export function cachePrefixOf(kind: StateKind, cluster: string): string {
  requireCluster(cluster);
  switch (kind) {
    case "nodes":
      return `${CACHE_PREFIX}/nodes/v1/${cluster}/`;
    case "services":
      return `${CACHE_PREFIX}/services/v1/${cluster}/`;
    case "identities":
      return `${CACHE_PREFIX}/identities/v1/${cluster}/id/`;
    case "ip":
      return `${CACHE_PREFIX}/ip/v1/${cluster}/`;
  }
}

/** Cilium's StateToCachePrefix: "cilium/state/..." becomes "cilium/cache/..."; others are unchanged. */
export function stateToCachePrefix(prefix: string): string {
  return prefix.startsWith(STATE_PREFIX) ? CACHE_PREFIX + prefix.slice(STATE_PREFIX.length) : prefix;
}

/**
 * The cache key KVStoreMesh writes for `stateKey` read from `cluster`'s etcd, the value being
 * copied byte for byte. Undefined for keys that are not exported state of that cluster (identity
 * value keys, other clusters' nodes and services, config, canaries, heartbeat).
 */
export function stateToCacheKey(stateKey: string, cluster: string): string | undefined {
  for (const kind of STATE_KINDS) {
    const from = statePrefixOf(kind, cluster);
    if (stateKey.startsWith(from) && stateKey.length > from.length) return cachePrefixOf(kind, cluster) + stateKey.slice(from.length);
  }
  return undefined;
}

// ---- parsing ----

export type ParsedKey =
  | { readonly type: "node"; readonly store: KeyStore; readonly cluster: string; readonly name: string }
  /** `cluster` is set for cached keys only; state identity keys do not name their cluster. */
  | { readonly type: "identity"; readonly store: KeyStore; readonly cluster?: string; readonly id: number }
  | { readonly type: "identity-value"; readonly labels: string; readonly node: string }
  /** `ip` as written in the key: an address or address/length. `cluster` is set for cached keys only. */
  | { readonly type: "ipcache"; readonly store: KeyStore; readonly cluster?: string; readonly ip: string }
  | { readonly type: "service"; readonly store: KeyStore; readonly cluster: string; readonly namespace: string; readonly name: string }
  | { readonly type: "cluster-config"; readonly cluster: string }
  | { readonly type: "sync-canary"; readonly cluster: string; readonly prefix: string }
  | { readonly type: "heartbeat" };

const DECIMAL_ID = /^[1-9][0-9]{0,9}$/;

function parseId(text: string): number | undefined {
  if (!DECIMAL_ID.test(text)) return undefined;
  const id = Number(text);
  return id <= 0xffffffff ? id : undefined;
}

/** Splits `rest` into exactly `n` non-empty '/'-separated segments. */
function segments(rest: string, n: number): string[] | undefined {
  const parts = rest.split("/");
  if (parts.length !== n || parts.some((p) => p === "")) return undefined;
  return parts;
}

/**
 * Recognizes a key of the layout above and splits it into its parts. Only the shape is checked
 * (segment count, non-empty segments, decimal identity numbers); the decoders check the names.
 * Undefined for any other key.
 */
export function parseKey(key: string): ParsedKey | undefined {
  if (key === HEARTBEAT_KEY) return { type: "heartbeat" };
  if (key.startsWith(`${STATE_PREFIX}/`)) return parseStateKey(key);
  if (key.startsWith(`${CACHE_PREFIX}/`)) return parseCacheKey(key);
  if (key.startsWith(`${CLUSTER_CONFIG_PREFIX}/`)) {
    const s = segments(key.slice(CLUSTER_CONFIG_PREFIX.length + 1), 1);
    return s && { type: "cluster-config", cluster: s[0]! };
  }
  if (key.startsWith(`${SYNCED_PREFIX}/`)) {
    const rest = key.slice(SYNCED_PREFIX.length + 1);
    const slash = rest.indexOf("/");
    if (slash <= 0 || slash === rest.length - 1) return undefined;
    const prefix = rest.slice(slash + 1);
    if (prefix.split("/").some((p) => p === "")) return undefined;
    return { type: "sync-canary", cluster: rest.slice(0, slash), prefix };
  }
  return undefined;
}

function parseStateKey(key: string): ParsedKey | undefined {
  if (key.startsWith(`${NODES_PREFIX}/`)) {
    const s = segments(key.slice(NODES_PREFIX.length + 1), 2);
    return s && { type: "node", store: "state", cluster: s[0]!, name: s[1]! };
  }
  if (key.startsWith(`${SERVICES_PREFIX}/`)) {
    const s = segments(key.slice(SERVICES_PREFIX.length + 1), 3);
    return s && { type: "service", store: "state", cluster: s[0]!, namespace: s[1]!, name: s[2]! };
  }
  if (key.startsWith(`${IDENTITIES_PREFIX}/id/`)) {
    const id = parseId(key.slice(IDENTITIES_PREFIX.length + 4));
    return id === undefined ? undefined : { type: "identity", store: "state", id };
  }
  if (key.startsWith(`${IDENTITIES_PREFIX}/value/`)) {
    const rest = key.slice(IDENTITIES_PREFIX.length + 7);
    const slash = rest.lastIndexOf("/");
    if (slash <= 0 || slash === rest.length - 1) return undefined;
    return { type: "identity-value", labels: rest.slice(0, slash), node: rest.slice(slash + 1) };
  }
  const ipPrefix = `${IPCACHE_PREFIX}/${IPCACHE_ADDRESS_SPACE}/`;
  if (key.startsWith(ipPrefix)) {
    const ip = key.slice(ipPrefix.length);
    return validIpcacheName(ip) ? { type: "ipcache", store: "state", ip } : undefined;
  }
  return undefined;
}

function parseCacheKey(key: string): ParsedKey | undefined {
  const rest = key.slice(CACHE_PREFIX.length + 1);
  const slash1 = rest.indexOf("/");
  const slash2 = slash1 < 0 ? -1 : rest.indexOf("/", slash1 + 1);
  if (slash2 < 0) return undefined;
  const kind = rest.slice(0, slash2);
  const tail = rest.slice(slash2 + 1);
  switch (kind) {
    case "nodes/v1": {
      const s = segments(tail, 2);
      return s && { type: "node", store: "cache", cluster: s[0]!, name: s[1]! };
    }
    case "services/v1": {
      const s = segments(tail, 3);
      return s && { type: "service", store: "cache", cluster: s[0]!, namespace: s[1]!, name: s[2]! };
    }
    case "identities/v1": {
      const s = segments(tail, 3);
      if (s === undefined || s[1] !== "id") return undefined;
      const id = parseId(s[2]!);
      return id === undefined ? undefined : { type: "identity", store: "cache", cluster: s[0]!, id };
    }
    case "ip/v1": {
      const slash = tail.indexOf("/");
      if (slash <= 0) return undefined;
      const ip = tail.slice(slash + 1);
      return validIpcacheName(ip) ? { type: "ipcache", store: "cache", cluster: tail.slice(0, slash), ip } : undefined;
    }
    default:
      return undefined;
  }
}

/** address, or address/length with exactly one '/' and nothing empty. */
function validIpcacheName(ip: string): boolean {
  if (ip === "") return false;
  const slash = ip.indexOf("/");
  return slash < 0 || (slash > 0 && slash < ip.length - 1 && ip.indexOf("/", slash + 1) < 0);
}
