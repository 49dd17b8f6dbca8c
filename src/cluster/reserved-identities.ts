import { MINIMAL_NUMERIC_IDENTITY } from "./identity-range.js";

/**
 * The identities with a fixed meaning, numbered as in Cilium (pkg/identity). They are the same
 * in every cluster, which is why they sit below 256, outside every cluster's allocation range.
 * 100-115 are Cilium's well-known identities (kube-dns, the operator, ...) and 128-255 are
 * reserved for users; Trellis assigns neither, but treats them as reserved like Cilium does.
 */

export interface ReservedIdentity {
  readonly id: number;
  /** Cilium's name, as `cilium identity list` prints it. */
  readonly name: string;
  /** The identity's labels in printable form (`source:key`). */
  readonly labels: readonly string[];
}

export const IDENTITY_UNKNOWN = 0;
export const IDENTITY_HOST = 1;
export const IDENTITY_WORLD = 2;
export const IDENTITY_UNMANAGED = 3;
export const IDENTITY_HEALTH = 4;
export const IDENTITY_INIT = 5;
export const IDENTITY_REMOTE_NODE = 6;
export const IDENTITY_KUBE_APISERVER = 7;
export const IDENTITY_INGRESS = 8;
export const IDENTITY_WORLD_IPV4 = 9;
export const IDENTITY_WORLD_IPV6 = 10;

/** First number of the range Cilium leaves to users for their own fixed identities. */
export const USER_RESERVED_IDENTITY_MIN = 128;

export const RESERVED_IDENTITIES: readonly ReservedIdentity[] = [
  { id: IDENTITY_UNKNOWN, name: "unknown", labels: [] },
  { id: IDENTITY_HOST, name: "host", labels: ["reserved:host"] },
  { id: IDENTITY_WORLD, name: "world", labels: ["reserved:world"] },
  { id: IDENTITY_UNMANAGED, name: "unmanaged", labels: ["reserved:unmanaged"] },
  { id: IDENTITY_HEALTH, name: "health", labels: ["reserved:health"] },
  { id: IDENTITY_INIT, name: "init", labels: ["reserved:init"] },
  { id: IDENTITY_REMOTE_NODE, name: "remote-node", labels: ["reserved:remote-node"] },
  // A node running kube-apiserver is still a remote node, so it carries both labels.
  { id: IDENTITY_KUBE_APISERVER, name: "kube-apiserver", labels: ["reserved:kube-apiserver", "reserved:remote-node"] },
  { id: IDENTITY_INGRESS, name: "ingress", labels: ["reserved:ingress"] },
  { id: IDENTITY_WORLD_IPV4, name: "world-ipv4", labels: ["reserved:world-ipv4"] },
  { id: IDENTITY_WORLD_IPV6, name: "world-ipv6", labels: ["reserved:world-ipv6"] },
];

const byId = new Map(RESERVED_IDENTITIES.map((r) => [r.id, r]));
const byName = new Map(RESERVED_IDENTITIES.map((r) => [r.name, r]));

/** True for every number below 256: fixed, well-known and user-reserved identities alike. */
export function isReservedIdentity(identity: number): boolean {
  return Number.isInteger(identity) && identity >= 0 && identity < MINIMAL_NUMERIC_IDENTITY;
}

/** The fixed-meaning identity with this number (0-10), if any. */
export function reservedIdentity(identity: number): ReservedIdentity | undefined {
  return byId.get(identity);
}

/** The fixed-meaning identity with this name ("host", "remote-node", ...), if any. */
export function reservedIdentityByName(name: string): ReservedIdentity | undefined {
  return byName.get(name);
}

/**
 * The identity a peer's ipcache entry stands for on this node. A peer that publishes its own node
 * IPs as `host` (1) means "that node", which from here is a remote node (6); Cilium's ipcache
 * watcher makes the same substitution.
 */
export function identityAsSeenFromPeer(identity: number): number {
  return identity === IDENTITY_HOST ? IDENTITY_REMOTE_NODE : identity;
}
