import { validateClusterInfo, type ClusterInfo } from "../cluster/index.js";
import { getPath, type Values } from "./helm-set.js";
import type { ClusterSettings, DatapathMode } from "../resources/cluster-settings.js";
import { tryParseCidr } from "../util/ipv4.js";

/**
 * The Helm values Trellis understands (Cilium's names), and what they mean for a cluster's
 * settings. Unknown keys are kept (a values file written for Cilium may carry more) but listed, so
 * a typo does not pass silently.
 */
export const KNOWN_VALUES = [
  "cluster.name",
  "cluster.id",
  "maxConnectedClusters",
  "routingMode",
  "ipam.operator.clusterPoolIPv4PodCIDRList",
  "clustermesh.useAPIServer",
  "clustermesh.config.enabled",
  "clustermesh.config.clusters",
  "clustermesh.apiserver.tls.auto.method",
  "clustermesh.apiserver.tls.auto.enabled",
  "clustermesh.apiserver.tls.auto.certValidityDuration",
  "clustermesh.apiserver.tls.ca.cert",
  "clustermesh.apiserver.tls.ca.key",
  "clustermesh.apiserver.service.type",
  "clustermesh.apiserver.kvstoremesh.enabled",
  "clustermesh.cacheTTL",
  "clustermesh.policyDefaultLocalCluster",
  "policyDefaultLocalCluster",
] as const;

export class ValuesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ValuesError";
  }
}

function leaves(v: unknown, prefix = ""): string[] {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return [prefix];
  return Object.entries(v).flatMap(([k, x]) => leaves(x, prefix ? `${prefix}.${k}` : k));
}

export function unknownValues(values: Values): string[] {
  return leaves(values).filter((p) => p && !KNOWN_VALUES.some((k) => p === k || p.startsWith(`${k}.`) || k.startsWith(`${p}.`)));
}

/** The cluster identity the values ask for, on top of the current settings; rule violations listed. */
export function settingsFromValues(values: Values, current: ClusterSettings): ClusterSettings {
  const name = getPath(values, "cluster.name") ?? current.name;
  const id = getPath(values, "cluster.id") ?? current.id;
  const max = getPath(values, "maxConnectedClusters") ?? current.maxConnectedClusters;
  const routing = getPath(values, "routingMode") ?? current.datapathMode;
  if (routing !== "tunnel" && routing !== "native") throw new ValuesError(`routingMode must be tunnel or native (got ${JSON.stringify(routing)})`);
  const info: ClusterInfo = validateClusterInfo({ name: name as string, id: id as number, maxConnectedClusters: max as 255 | 511 });
  const pools = getPath(values, "ipam.operator.clusterPoolIPv4PodCIDRList");
  let podPool = current.podPool;
  if (pools !== undefined) {
    const first = Array.isArray(pools) ? pools[0] : pools;
    if (typeof first !== "string" || !tryParseCidr(first, { strict: true })) {
      throw new ValuesError(`ipam.operator.clusterPoolIPv4PodCIDRList must be a list of IPv4 CIDRs such as {100.65.0.0/16} (got ${JSON.stringify(pools)})`);
    }
    podPool = first;
  }
  const policyDefaultLocalCluster = policyDefaultLocalClusterOf(values) ?? current.policyDefaultLocalCluster;
  return {
    ...current,
    name: info.name,
    id: info.id,
    maxConnectedClusters: info.maxConnectedClusters,
    datapathMode: routing as DatapathMode,
    podPool,
    ...(policyDefaultLocalCluster === undefined ? {} : { policyDefaultLocalCluster }),
  };
}

/**
 * Cilium's chart calls it clustermesh.policyDefaultLocalCluster; the shorter top-level name is
 * accepted too. Undefined when neither is set.
 */
function policyDefaultLocalClusterOf(values: Values): boolean | undefined {
  const given = ["policyDefaultLocalCluster", "clustermesh.policyDefaultLocalCluster"]
    .map((path) => ({ path, value: getPath(values, path) }))
    .filter((v) => v.value !== undefined);
  for (const { path, value } of given) {
    if (typeof value !== "boolean") throw new ValuesError(`${path} must be true or false (got ${JSON.stringify(value)})`);
  }
  if (given.length === 2 && given[0]!.value !== given[1]!.value) {
    throw new ValuesError(`policyDefaultLocalCluster=${String(given[0]!.value)} and clustermesh.policyDefaultLocalCluster=${String(given[1]!.value)} disagree; set one of them`);
  }
  return given[0]?.value as boolean | undefined;
}
