import { formatPermission, fromEtcdRange, sameEtcdRange, toEtcdRange, type Access, type EtcdRange, type KeyPermission } from "./key-range.js";
import type { MeshAccessPolicy } from "./mesh-access-policy.js";

/**
 * The difference between the access an etcd has and the access the mesh needs, as the ordered
 * steps that close it. Pure: enable, disable and status all compute their steps here from one
 * read of etcd's users and roles, so a re-run finds nothing to do and a hand-made change (a role
 * granted to `remote`, a permission widened) is found and undone.
 */

export interface EtcdPermission {
  readonly access: Access;
  readonly range: EtcdRange;
}

/** What etcd holds, as read through its auth API. */
export interface AccessState {
  readonly authEnabled: boolean;
  readonly users: readonly { readonly name: string; readonly roles: readonly string[] }[];
  /** Roles etcd lists; the built-in root role is not among them. */
  readonly roles: readonly { readonly name: string; readonly permissions: readonly EtcdPermission[] }[];
}

export type AccessChange =
  | { readonly kind: "user-added"; readonly user: string }
  | { readonly kind: "user-removed"; readonly user: string }
  | { readonly kind: "role-added"; readonly role: string }
  | { readonly kind: "role-removed"; readonly role: string }
  | { readonly kind: "role-granted"; readonly user: string; readonly role: string }
  | { readonly kind: "role-revoked"; readonly user: string; readonly role: string }
  | { readonly kind: "permission-granted"; readonly role: string; readonly permission: KeyPermission }
  | { readonly kind: "permission-revoked"; readonly role: string; readonly permission: KeyPermission }
  | { readonly kind: "auth-enabled" }
  | { readonly kind: "auth-disabled" };

export interface PlannedStep {
  readonly change: AccessChange;
  /** For permission steps: the exact bytes etcd is given (a revoke must name what etcd holds). */
  readonly range?: EtcdRange;
}

export function describeChange(change: AccessChange): string {
  switch (change.kind) {
    case "user-added":
      return `added user ${change.user} (client certificate only, no password)`;
    case "user-removed":
      return `removed user ${change.user}`;
    case "role-added":
      return `added role ${change.role}`;
    case "role-removed":
      return `removed role ${change.role}`;
    case "role-granted":
      return `granted role ${change.role} to user ${change.user}`;
    case "role-revoked":
      return `revoked role ${change.role} from user ${change.user}`;
    case "permission-granted":
      return `role ${change.role} may ${formatPermission(change.permission)}`;
    case "permission-revoked":
      return `role ${change.role} may no longer ${formatPermission(change.permission)}`;
    case "auth-enabled":
      return "enabled etcd auth: only client certificates whose common name is an etcd user are let in";
    case "auth-disabled":
      return "disabled etcd auth: every client certificate from the cluster CA may read and write every key";
  }
}

/**
 * Steps to the mesh's access. Order matters while auth is on: what narrows access (revocations)
 * comes before what widens it, users come after their roles are in shape, and auth is turned on
 * last, once every certificate that must keep working has its user.
 */
export function planEnable(policy: MeshAccessPolicy, actual: AccessState): PlannedStep[] {
  const narrow: PlannedStep[] = [];
  const widen: PlannedStep[] = [];
  const rolesHeld = new Map(actual.roles.map((r) => [r.name, r.permissions]));
  const usersHeld = new Map(actual.users.map((u) => [u.name, u.roles]));

  for (const user of policy.users) {
    const held = usersHeld.get(user.name);
    if (held === undefined || !user.exactRoles) continue;
    for (const role of held) if (!user.roles.includes(role)) narrow.push({ change: { kind: "role-revoked", user: user.name, role } });
  }
  for (const role of policy.roles) {
    const held = rolesHeld.get(role.name);
    const wanted = role.permissions.map((p) => ({ permission: p, range: toEtcdRange(p.range) }));
    if (held === undefined) widen.push({ change: { kind: "role-added", role: role.name } });
    for (const perm of held ?? []) {
      if (!wanted.some((w) => sameEtcdRange(w.range, perm.range))) {
        narrow.push({ change: { kind: "permission-revoked", role: role.name, permission: { access: perm.access, range: fromEtcdRange(perm.range) } }, range: perm.range });
      }
    }
    for (const w of wanted) {
      // etcd keeps one permission per range: granting again replaces its access.
      const same = held?.find((perm) => sameEtcdRange(perm.range, w.range));
      if (same?.access !== w.permission.access) widen.push({ change: { kind: "permission-granted", role: role.name, permission: w.permission }, range: w.range });
    }
  }
  for (const user of policy.users) {
    const held = usersHeld.get(user.name);
    if (held === undefined) widen.push({ change: { kind: "user-added", user: user.name } });
    for (const role of user.roles) if (!held?.includes(role)) widen.push({ change: { kind: "role-granted", user: user.name, role } });
  }
  const steps = [...narrow, ...widen];
  if (!actual.authEnabled) steps.push({ change: { kind: "auth-enabled" } });
  return steps;
}

/**
 * Steps back to a cluster without mesh access: the mesh-only users go first (peers lose access
 * at once), then their roles, then auth unless `keepAuth`.
 */
export function planDisable(policy: MeshAccessPolicy, actual: AccessState, keepAuth: boolean): PlannedStep[] {
  const steps: PlannedStep[] = [];
  const users = new Set(actual.users.map((u) => u.name));
  const roles = new Set(actual.roles.map((r) => r.name));
  for (const user of policy.meshOnlyUsers) if (users.has(user)) steps.push({ change: { kind: "user-removed", user } });
  for (const role of policy.meshOnlyRoles) if (roles.has(role)) steps.push({ change: { kind: "role-removed", role } });
  if (actual.authEnabled && !keepAuth) steps.push({ change: { kind: "auth-disabled" } });
  return steps;
}
