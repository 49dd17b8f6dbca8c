import { clusterIdProblem, isMaxConnectedClusters, type MaxConnectedClusters } from "../cluster/index.js";
import { checkClusterName, checkSameCluster, checkSameClusterId } from "./cluster-checks.js";
import { optBool, optObject, optUint, parseJsonObject, reject, type Where } from "./go-json.js";
import { clusterConfigKey, parseKey } from "./keys.js";
import { RecordError, describeValue, runDecoder, valueText, type DecodeContext, type DecodeResult } from "./record-error.js";

/**
 * A cluster's self-description, Cilium's CiliumClusterConfig (pkg/clustermesh/types) at
 * cilium/cluster-config/<cluster>:
 *
 *   {"id":1,"capabilities":{"syncedCanaries":true,"maxConnectedClusters":255}}
 *
 * Every field is omitempty in Go, so false/0 fields are left out, but "capabilities" is always
 * written (Go does not omit structs). An absent maxConnectedClusters comes from a release that
 * only knew 255-cluster meshes. Whether the remote's mesh size matches ours is the caller's
 * check: it depends on the local configuration, not on the record.
 */

export interface ClusterCapabilities {
  /** The cluster writes cilium/synced/<cluster>/<prefix> canaries once each prefix is complete. */
  readonly syncedCanaries: boolean;
  /** The state is a KVStoreMesh copy under cilium/cache/, not the cluster's own cilium/state/. */
  readonly cached: boolean;
  /** Absent when the writer predates the capability (it then means 255). */
  readonly maxConnectedClusters?: MaxConnectedClusters;
  /** MCS-API ServiceExports support; absent when the writer does not know the feature. */
  readonly serviceExportsEnabled?: boolean;
}

export interface ClusterConfigRecord {
  /** From the key; not part of the JSON. */
  readonly cluster: string;
  readonly id: number;
  readonly capabilities: ClusterCapabilities;
}

const WHAT = "cluster config";

/**
 * Reads a cluster configuration stored at cilium/cluster-config/<cluster>. The ID must fit the
 * mesh size the record announces. With `ctx.cluster`, the key and ID must be that cluster's.
 */
export function decodeClusterConfig(key: string, value: Buffer | Uint8Array | string, ctx?: DecodeContext): DecodeResult<ClusterConfigRecord> {
  return runDecoder(key, WHAT, () => {
    const where: Where = { key, what: WHAT };
    const source = ctx?.cluster;
    const parsed = parseKey(key);
    if (parsed?.type !== "cluster-config") reject(where, "invalid-key", undefined, "the key is not a cluster config key (cilium/cluster-config/<cluster>)");
    checkClusterName(where, parsed.cluster, undefined, "the key's cluster name");
    checkSameCluster(where, source, parsed.cluster, undefined);

    const o = parseJsonObject(where, valueText(key, WHAT, value));
    const caps = optObject(where, o, "capabilities") ?? {};
    const maxRaw = optUint(where, caps, "maxConnectedClusters", 0xffffffff, "capabilities.maxConnectedClusters");
    let max: MaxConnectedClusters | undefined;
    if (maxRaw !== undefined && maxRaw !== 0) {
      if (!isMaxConnectedClusters(maxRaw)) reject(where, "invalid-value", "capabilities.maxConnectedClusters", `must be 255 or 511 (got ${maxRaw})`);
      max = maxRaw;
    }

    const id = optUint(where, o, "id", 0xffffffff);
    if (id === undefined || id === 0) reject(where, "missing-field", "id", "is missing: a cluster in a mesh needs a non-zero cluster ID");
    const idWhy = clusterIdProblem(id, max ?? 255);
    if (idWhy !== undefined) reject(where, "invalid-value", "id", `cluster ID ${id} is invalid: ${idWhy}`);
    if (source !== undefined) checkSameClusterId(where, source, id, "id");

    const capabilities: {
      syncedCanaries: boolean;
      cached: boolean;
      maxConnectedClusters?: MaxConnectedClusters;
      serviceExportsEnabled?: boolean;
    } = {
      syncedCanaries: optBool(where, caps, "syncedCanaries", "capabilities.syncedCanaries") ?? false,
      cached: optBool(where, caps, "cached", "capabilities.cached") ?? false,
    };
    if (max !== undefined) capabilities.maxConnectedClusters = max;
    const exports = optBool(where, caps, "serviceExportsEnabled", "capabilities.serviceExportsEnabled");
    if (exports !== undefined) capabilities.serviceExportsEnabled = exports;
    return { cluster: parsed.cluster, id, capabilities };
  });
}

/** The JSON Cilium writes for this configuration. Throws a RecordError for what decodeClusterConfig would refuse. */
export function encodeClusterConfig(config: ClusterConfigRecord): string {
  let key: string;
  try {
    key = clusterConfigKey(config.cluster);
  } catch (e) {
    const k = `cilium/cluster-config/${String(config.cluster)}`;
    throw new RecordError("invalid-name", k, undefined, `${WHAT} ${k}: ${(e as Error).message}`);
  }
  const c = config.capabilities;
  const caps: string[] = [];
  if (c.syncedCanaries) caps.push(`"syncedCanaries":true`);
  if (c.cached) caps.push(`"cached":true`);
  if (c.maxConnectedClusters !== undefined) caps.push(`"maxConnectedClusters":${describeNumber(c.maxConnectedClusters)}`);
  if (c.serviceExportsEnabled !== undefined) caps.push(`"serviceExportsEnabled":${c.serviceExportsEnabled === true}`);
  const idPart = config.id === 0 ? "" : `"id":${describeNumber(config.id)},`;
  const out = `{${idPart}"capabilities":{${caps.join(",")}}}`;
  const check = decodeClusterConfig(key, out);
  if (!check.ok) throw check.error;
  return out;
}

/** A number as JSON; anything else is written so that decoding reports it as the wrong type. */
function describeNumber(n: unknown): string {
  return typeof n === "number" && Number.isFinite(n) ? String(n) : JSON.stringify(describeValue(n));
}
