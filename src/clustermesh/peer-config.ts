import { clusterNameProblem } from "../cluster/index.js";
import { EtcdStore, validateEtcdConfig, type EtcdConfig, type EtcdStoreOptions } from "../kvstore/index.js";

/** How this cluster reaches one remote cluster's etcd (PEM material inline). */
export interface PeerConfig {
  name: string;
  endpoints: string[];
  tls?: { ca: string; cert?: string; key?: string };
}

/** Why `peer` cannot be used (one sentence naming the value given), or undefined. */
export function peerConfigProblem(peer: PeerConfig): string | undefined {
  if (typeof peer?.name !== "string") return `a peer needs a name (got ${JSON.stringify(peer?.name)})`;
  const why = clusterNameProblem(peer.name);
  if (why !== undefined) return `peer name ${JSON.stringify(peer.name)} is not a valid cluster name: ${why}`;
  try {
    validateEtcdConfig(peerEtcdConfig(peer), `peer ${peer.name}`);
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}

export function peerEtcdConfig(peer: PeerConfig): EtcdConfig {
  return { endpoints: [...peer.endpoints], ...(peer.tls ? { tls: { ...peer.tls } } : {}) };
}

/** The default way to reach a peer directly: a new etcd client of its endpoints. */
export function connectPeerEtcd(peer: PeerConfig, options?: EtcdStoreOptions): EtcdStore {
  return new EtcdStore(peerEtcdConfig(peer), options);
}

export function samePeerConfig(a: PeerConfig, b: PeerConfig): boolean {
  return (
    a.name === b.name &&
    a.endpoints.length === b.endpoints.length &&
    a.endpoints.every((e, i) => e === b.endpoints[i]) &&
    a.tls?.ca === b.tls?.ca &&
    a.tls?.cert === b.tls?.cert &&
    a.tls?.key === b.tls?.key
  );
}
