import { EtcdStore, validateEtcdConfig, type EtcdConfig } from "../../kvstore/index.js";
import { describeCertificate } from "../../pki/certificates.js";
import { describeChange, planDisable, planEnable, type AccessChange, type PlannedStep } from "./access-plan.js";
import { EtcdAuthAdmin } from "./etcd-auth-admin.js";
import { fromEtcdRange, type KeyPermission } from "./key-range.js";
import { MeshAccessError, ROOT_USER, checkClusterName, meshAccessPolicy } from "./mesh-access-policy.js";

/**
 * `clustermesh enable` / `disable` / `status` for one cluster's etcd: the users and roles the mesh
 * needs, and etcd auth. The etcd already runs with TLS and client-certificate auth from install
 * on; until auth is enabled any certificate from the cluster CA may do anything, afterwards a
 * certificate is only as good as the etcd user named by its common name.
 *
 * Every call reads what etcd holds, plans the difference (access-plan.ts) and applies it, so a
 * re-run changes nothing and a hand-made change is undone. The caller connects as etcd's root
 * user: the client certificate whose common name is `root`.
 */

/** An open store (its configuration is reused) or the configuration itself. */
export type MeshAccessTarget = EtcdStore | EtcdConfig;

export interface MeshAccessOptions {
  /** Deadline of each etcd request (default 10,000 ms). */
  readonly requestTimeoutMs?: number;
}

export interface DisableMeshAccessOptions extends MeshAccessOptions {
  /**
   * Leave auth on (default false: auth is turned off, as before enable). With auth on, a peer's
   * leftover `remote` certificate is refused; with auth off it may read and write every key.
   */
  readonly keepAuth?: boolean;
}

export interface MeshAccessResult {
  readonly cluster: string;
  /** What was changed, in order; empty when etcd already was as asked. */
  readonly changes: readonly AccessChange[];
  readonly authEnabled: boolean;
}

export interface MeshAccessStatus {
  readonly cluster: string;
  readonly authEnabled: boolean;
  /**
   * enabled: every user, role and permission the mesh needs is in place and auth is on.
   * disabled: neither `remote` nor `local-<cluster>` exists. partial: anything in between.
   */
  readonly state: "enabled" | "disabled" | "partial";
  /** Every etcd user, mesh or not, with what its certificate is for when it is a mesh user. */
  readonly users: readonly { readonly name: string; readonly roles: readonly string[]; readonly purpose?: string }[];
  /** Every role etcd lists (the built-in root role is not listed). */
  readonly roles: readonly { readonly name: string; readonly permissions: readonly KeyPermission[] }[];
  /** What `enableMeshAccess` would change now. */
  readonly pending: readonly AccessChange[];
}

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** Creates the mesh's users and roles (users before auth), then enables auth. Safe to re-run. */
export async function enableMeshAccess(target: MeshAccessTarget, cluster: string, options: MeshAccessOptions = {}): Promise<MeshAccessResult> {
  const policy = meshAccessPolicy(checkClusterName(cluster));
  return withAdmin(target, options, async (admin) => {
    const steps = planEnable(policy, await admin.read());
    await applySteps(admin, steps, "enable");
    const after = await admin.read();
    const left = planEnable(policy, after);
    if (left.length > 0) {
      throw new MeshAccessError(`mesh access for cluster ${cluster}: etcd does not hold what was just applied: ${left.map((s) => describeChange(s.change)).join("; ")}`);
    }
    return { cluster, changes: steps.map((s) => s.change), authEnabled: after.authEnabled };
  });
}

/**
 * Removes `remote` and `local-<cluster>` with their roles, then disables auth unless keepAuth.
 * `root` and `admin-<cluster>` stay, so the cluster's own daemons never notice. Safe to re-run.
 * With auth off, "disabled" means no mesh access is expected, not that it is impossible: any
 * certificate from the cluster CA, a peer's `remote` one included, then reads and writes every key.
 */
export async function disableMeshAccess(target: MeshAccessTarget, cluster: string, options: DisableMeshAccessOptions = {}): Promise<MeshAccessResult> {
  const policy = meshAccessPolicy(checkClusterName(cluster));
  const keepAuth = options.keepAuth ?? false;
  return withAdmin(target, options, async (admin) => {
    const steps = planDisable(policy, await admin.read(), keepAuth);
    await applySteps(admin, steps, "disable");
    const after = await admin.read();
    const left = planDisable(policy, after, keepAuth);
    if (left.length > 0) {
      throw new MeshAccessError(`mesh access for cluster ${cluster}: etcd still holds what was just removed: ${left.map((s) => describeChange(s.change)).join("; ")}`);
    }
    return { cluster, changes: steps.map((s) => s.change), authEnabled: after.authEnabled };
  });
}

/** Users, roles, permissions and auth as etcd holds them, and how far that is from enabled. */
export async function describeMeshAccess(target: MeshAccessTarget, cluster: string, options: MeshAccessOptions = {}): Promise<MeshAccessStatus> {
  const policy = meshAccessPolicy(checkClusterName(cluster));
  return withAdmin(target, options, async (admin) => {
    const actual = await admin.read();
    const pending = planEnable(policy, actual).map((s) => s.change);
    const names = new Set(actual.users.map((u) => u.name));
    const state = pending.length === 0 ? "enabled" : policy.meshOnlyUsers.some((u) => names.has(u)) ? "partial" : "disabled";
    const purposes = new Map(policy.users.map((u) => [u.name, u.purpose]));
    return {
      cluster,
      authEnabled: actual.authEnabled,
      state,
      users: actual.users.map((u) => ({ name: u.name, roles: u.roles, ...(purposes.has(u.name) ? { purpose: purposes.get(u.name)! } : {}) })),
      roles: actual.roles.map((r) => ({ name: r.name, permissions: r.permissions.map((p) => ({ access: p.access, range: fromEtcdRange(p.range) })) })),
      pending,
    };
  });
}

async function applySteps(admin: EtcdAuthAdmin, steps: readonly PlannedStep[], what: string): Promise<void> {
  const done: AccessChange[] = [];
  for (const step of steps) {
    try {
      await admin.apply(step);
    } catch (e) {
      // Nothing applied yet: the typed kvstore error (unreachable, refused) is the whole story.
      if (done.length === 0) throw e;
      throw new MeshAccessError(
        `mesh access ${what} stopped after ${done.length} of ${steps.length} changes (${done.map(describeChange).join("; ")}) at "${describeChange(step.change)}": ${(e as Error).message}. Run it again to finish.`,
        { cause: e, changes: done },
      );
    }
    done.push(step.change);
  }
}

async function withAdmin<T>(target: MeshAccessTarget, options: MeshAccessOptions, fn: (admin: EtcdAuthAdmin) => Promise<T>): Promise<T> {
  const config = rootConfig(target);
  const timeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  if (!(Number.isFinite(timeout) && timeout > 0)) throw new MeshAccessError(`mesh access: requestTimeoutMs must be a positive number of milliseconds (got ${timeout})`);
  const admin = new EtcdAuthAdmin(config, timeout);
  try {
    return await fn(admin);
  } finally {
    admin.close();
  }
}

/**
 * The mesh's users have no password, so the only way in once auth is on is a certificate; the
 * one that may manage users is root's. Refusing anything else here keeps enable from locking its
 * caller out, and says why before etcd is touched.
 */
function rootConfig(target: MeshAccessTarget): EtcdConfig {
  const config = target instanceof EtcdStore ? target.config : target;
  if (typeof config !== "object" || config === null) throw new MeshAccessError(`mesh access: expected an EtcdStore or an etcd config (got ${String(config)})`);
  validateEtcdConfig(config, "mesh access: etcd config");
  const endpoints = config.endpoints.join(", ");
  if (config.auth) {
    throw new MeshAccessError(`mesh access: the etcd config for ${endpoints} logs in as user ${JSON.stringify(config.auth.username)} with a password; mesh users are certificate-only: give the root client certificate and no username`);
  }
  if (!config.tls?.cert) {
    throw new MeshAccessError(`mesh access: the etcd config for ${endpoints} has no client certificate; mesh access needs etcd with TLS and client-certificate auth, managed with the client certificate whose common name is "root"`);
  }
  let commonName: string;
  try {
    commonName = describeCertificate(String(config.tls.cert)).subjectCommonName;
  } catch (e) {
    throw new MeshAccessError(`mesh access: the client certificate for ${endpoints} cannot be read: ${(e as Error).message}`, { cause: e });
  }
  if (commonName !== ROOT_USER) {
    throw new MeshAccessError(`mesh access: the client certificate for ${endpoints} has common name ${JSON.stringify(commonName)}; managing etcd users and auth needs the certificate whose common name is "root"`);
  }
  return config;
}
