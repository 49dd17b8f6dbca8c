import { clusterNameProblem } from "../../cluster/index.js";
import { CACHE_PREFIX, CLUSTER_CONFIG_PREFIX, HEARTBEAT_KEY, STATE_PREFIX, SYNCED_PREFIX, clusterConfigKey } from "../../state/index.js";
import type { AccessChange } from "./access-plan.js";
import type { KeyPermission } from "./key-range.js";

/**
 * Who may do what in one cluster's etcd once the mesh is enabled. etcd maps a client
 * certificate's common name to the user of that name, so each user below is one kind of
 * certificate the cluster CA issues. The role names follow Cilium's (`remote`, `local`); Cilium
 * gives its admin user the built-in root role, Trellis a role that reads and writes every key but
 * cannot manage users or auth, which only the `root` certificate (the admin CLI) needs.
 */

export const ROOT_USER = "root";
/** etcd's built-in role: every key and the auth API. It is not listed by etcd's role list. */
export const ROOT_ROLE = "root";
export const REMOTE_USER = "remote";
export const REMOTE_ROLE = "remote";
export const LOCAL_ROLE = "local";
export const ADMIN_ROLE = "admin";

export function adminUser(cluster: string): string {
  return `admin-${cluster}`;
}

export function localUser(cluster: string): string {
  return `local-${cluster}`;
}

export interface MeshRole {
  readonly name: string;
  readonly permissions: readonly KeyPermission[];
}

export interface MeshUser {
  readonly name: string;
  readonly roles: readonly string[];
  /**
   * The user holds exactly `roles`; a role granted by hand is revoked. False only for root, whose
   * built-in role already allows everything, so extra roles change nothing.
   */
  readonly exactRoles: boolean;
  /** Who presents this certificate. */
  readonly purpose: string;
}

export interface MeshAccessPolicy {
  readonly cluster: string;
  readonly roles: readonly MeshRole[];
  readonly users: readonly MeshUser[];
  /** The users (and roles) that exist only while the mesh is enabled; disable removes them. */
  readonly meshOnlyUsers: readonly string[];
  readonly meshOnlyRoles: readonly string[];
}

/** Bad input, or a run that stopped part-way (then `changes` lists what it had already done). */
export class MeshAccessError extends Error {
  readonly changes: readonly AccessChange[];
  constructor(message: string, options?: { cause?: unknown; changes?: readonly AccessChange[] }) {
    super(message, options);
    this.name = "MeshAccessError";
    this.changes = options?.changes ?? [];
  }
}

export function checkClusterName(cluster: unknown): string {
  const why = typeof cluster === "string" ? clusterNameProblem(cluster) : "it must be a string";
  if (why !== undefined) throw new MeshAccessError(`mesh access: cluster name ${JSON.stringify(cluster)} is not valid: ${why}`);
  return cluster as string;
}

const read = (range: KeyPermission["range"]): KeyPermission => ({ access: "read", range });

export function meshAccessPolicy(cluster: string): MeshAccessPolicy {
  checkClusterName(cluster);
  // Peers and cache readers watch the heartbeat to judge whether this etcd is alive and written
  // to (Cilium grants both roles the same read).
  const heartbeat = read({ kind: "key", key: HEARTBEAT_KEY });
  return {
    cluster,
    roles: [
      { name: ADMIN_ROLE, permissions: [{ access: "readwrite", range: { kind: "all" } }] },
      {
        name: LOCAL_ROLE,
        permissions: [
          read({ kind: "prefix", prefix: `${CACHE_PREFIX}/` }),
          read({ kind: "prefix", prefix: `${CLUSTER_CONFIG_PREFIX}/` }),
          read({ kind: "prefix", prefix: `${SYNCED_PREFIX}/` }),
          heartbeat,
        ],
      },
      {
        name: REMOTE_ROLE,
        permissions: [
          read({ kind: "prefix", prefix: `${STATE_PREFIX}/` }),
          read({ kind: "key", key: clusterConfigKey(cluster) }),
          read({ kind: "prefix", prefix: `${SYNCED_PREFIX}/${cluster}/` }),
          heartbeat,
        ],
      },
    ],
    users: [
      { name: ROOT_USER, roles: [ROOT_ROLE], exactRoles: false, purpose: "the admin CLI; manages users, roles and auth" },
      { name: adminUser(cluster), roles: [ADMIN_ROLE], exactRoles: true, purpose: "the cluster's own daemons: operator, agents, KVStoreMesh" },
      { name: localUser(cluster), roles: [LOCAL_ROLE], exactRoles: true, purpose: "agents reading the KVStoreMesh cache" },
      { name: REMOTE_USER, roles: [REMOTE_ROLE], exactRoles: true, purpose: "peer clusters reading this cluster's exported state" },
    ],
    meshOnlyUsers: [REMOTE_USER, localUser(cluster)],
    meshOnlyRoles: [REMOTE_ROLE, LOCAL_ROLE],
  };
}
