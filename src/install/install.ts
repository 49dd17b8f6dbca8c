import type { KvStore } from "../kvstore/kvstore.js";
import { parseClusterSettings, type ClusterSettings } from "../resources/cluster-settings.js";
import { keys } from "../resources/keys.js";
import { mergeValues, type Values } from "./helm-set.js";
import { tlsAutoFromValues } from "./tls-auto.js";
import { settingsFromValues, unknownValues, ValuesError } from "./values.js";

export interface InstallResult {
  readonly settings: ClusterSettings;
  readonly previous: ClusterSettings;
  readonly values: Values;
  /** "cluster.name: a -> b" lines; empty when nothing about the cluster's identity changed. */
  readonly changes: string[];
  /** Settings the agents follow as they change, without a restart: "policyDefaultLocalCluster: true -> false". */
  readonly liveChanges: string[];
  readonly unknown: string[];
}

/**
 * `trellis install` / `upgrade`: merges Helm-style values into the cluster's stored values and
 * derives its settings. Renaming or re-numbering a cluster that runs workloads is refused unless
 * forced, as is changing maxConnectedClusters after installation.
 */
export async function installValues(store: KvStore, given: Values, options: { force?: boolean } = {}): Promise<InstallResult> {
  const settingsKv = await store.get(keys.clusterSettings());
  if (!settingsKv) throw new ValuesError("this cluster has no Trellis control plane yet (no trellis/config/cluster); create it with \"trellis lab up\"");
  const previous = parseClusterSettings(settingsKv.value.toString());
  const storedKv = await store.get(keys.values());
  const stored = storedKv ? (JSON.parse(storedKv.value.toString()) as Values) : {};
  const values = mergeValues(stored, given);
  const settings = settingsFromValues(values, previous);
  tlsAutoFromValues(values); // refused before anything is stored

  const changes: string[] = [];
  if (settings.name !== previous.name) changes.push(`cluster.name: ${previous.name} -> ${settings.name}`);
  if (settings.id !== previous.id) changes.push(`cluster.id: ${previous.id} -> ${settings.id}`);
  if (settings.maxConnectedClusters !== previous.maxConnectedClusters) changes.push(`maxConnectedClusters: ${previous.maxConnectedClusters} -> ${settings.maxConnectedClusters}`);
  if (settings.datapathMode !== previous.datapathMode) changes.push(`routingMode: ${previous.datapathMode} -> ${settings.datapathMode}`);
  if (settings.podPool !== previous.podPool) changes.push(`ipam.operator.clusterPoolIPv4PodCIDRList: ${previous.podPool} -> ${settings.podPool}`);

  const liveChanges: string[] = [];
  const policyDefault = (s: ClusterSettings) => s.policyDefaultLocalCluster ?? true;
  if (policyDefault(settings) !== policyDefault(previous)) liveChanges.push(`policyDefaultLocalCluster: ${policyDefault(previous)} -> ${policyDefault(settings)}`);

  if (!options.force) {
    const identityChanged = settings.name !== previous.name || settings.id !== previous.id || settings.podPool !== previous.podPool;
    if (identityChanged) {
      const pods = (await store.list(keys.pods())).kvs.length;
      if (pods > 0) {
        throw new ValuesError(
          `refusing to change ${changes.filter((c) => c.startsWith("cluster.") || c.startsWith("ipam.")).join(" and ")}: ${previous.name} runs ${pods} pod(s). ` +
            "The cluster ID is part of every security identity, so all workloads must be restarted (re-created) for access across clusters to work again. " +
            "Re-run with --force to change it anyway, then restart every workload.",
        );
      }
    }
    if (settings.maxConnectedClusters !== previous.maxConnectedClusters) {
      throw new ValuesError(
        `refusing to change maxConnectedClusters from ${previous.maxConnectedClusters} to ${settings.maxConnectedClusters}: it can only be set when a cluster is installed, ` +
          "and changing it on a live cluster can break connections and policy enforcement. Re-run with --force if the cluster has no workloads and no mesh peers.",
      );
    }
  }

  await store.txn({
    success: [
      { type: "put", key: keys.values(), value: JSON.stringify(values) },
      { type: "put", key: keys.clusterSettings(), value: JSON.stringify(settings) },
    ],
  });
  return { settings, previous, values, changes, liveChanges, unknown: unknownValues(values) };
}
