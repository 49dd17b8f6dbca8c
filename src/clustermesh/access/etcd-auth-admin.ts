import { randomBytes } from "node:crypto";
import {
  EtcdAuthenticationFailedError,
  EtcdPermissionDeniedError,
  EtcdRoleExistsError,
  EtcdRoleNotFoundError,
  EtcdRoleNotGrantedError,
  EtcdUserExistsError,
  EtcdUserNotFoundError,
  Etcd3,
  type IOptions,
} from "etcd3";
import { PermissionDeniedError, type EtcdConfig } from "../../kvstore/index.js";
import { toKvError } from "../../kvstore/etcd-errors.js";
import type { AccessState, EtcdPermission, PlannedStep } from "./access-plan.js";
import type { Access, EtcdRange } from "./key-range.js";

/**
 * etcd's auth API (users, roles, permissions, auth on/off) through the etcd3 library, which
 * carries everything this needs, the no-password user option included, so nothing shells out to
 * etcdctl. Calls run once with a deadline and fail with the kvstore's typed errors.
 *
 * etcd 3.4 has no AuthStatus call (it answers "unimplemented"); whether auth is on is read from
 * how it answers a login attempt with a user name nobody has.
 */

type Policy = NonNullable<NonNullable<IOptions["faultHandling"]>["global"]>;

// etcd3's default policy retries and trips a circuit breaker; a failed call here should fail at once.
const callOnce = {
  execute: async <T>(fn: (context: { signal: AbortSignal }) => T | Promise<T>) => fn({ signal: new AbortController().signal }),
} as unknown as Policy;

const PERM_TYPE = { read: "Read", write: "Write", readwrite: "Readwrite" } as const;
const ACCESS: Record<string, Access> = { Read: "read", Write: "write", Readwrite: "readwrite" };

/** Not a valid cluster-derived user name, so never one of ours. */
const PROBE_USER = "trellis-auth-status-probe";

interface RawPermission {
  permType: string;
  key: Buffer;
  range_end: Buffer;
}

export class EtcdAuthAdmin {
  private readonly client: Etcd3;
  private readonly where: string;

  constructor(config: EtcdConfig, requestTimeoutMs: number) {
    const tls = config.tls;
    this.where = `etcd ${config.endpoints.join(",")}`;
    this.client = new Etcd3({
      hosts: [...config.endpoints],
      ...(tls
        ? {
            credentials: {
              rootCertificate: Buffer.from(tls.ca),
              ...(tls.cert && tls.key ? { certChain: Buffer.from(tls.cert), privateKey: Buffer.from(tls.key) } : {}),
            },
          }
        : {}),
      faultHandling: { global: callOnce, host: () => callOnce },
      defaultCallOptions: () => ({ deadline: Date.now() + requestTimeoutMs }),
    });
  }

  close(): void {
    this.client.close();
  }

  async read(): Promise<AccessState> {
    const authEnabled = await this.authEnabled();
    const userNames = (await this.call("list users", () => this.client.auth.userList())).users;
    const users = [];
    for (const name of [...userNames].sort()) {
      const roles = await this.userRoles(name);
      if (roles) users.push({ name, roles: [...roles].sort() });
    }
    const roleNames = (await this.call("list roles", () => this.client.auth.roleList())).roles;
    const roles = [];
    for (const name of [...roleNames].sort()) {
      const permissions = await this.rolePermissions(name);
      if (permissions) roles.push({ name, permissions });
    }
    return { authEnabled, users, roles };
  }

  async authEnabled(): Promise<boolean> {
    try {
      await this.client.auth.authenticate({ name: PROBE_USER, password: randomBytes(16).toString("hex") });
    } catch (e) {
      if (e instanceof EtcdAuthenticationFailedError) return true;
      if (e instanceof Error && e.message.includes("authentication is not enabled")) return false;
      throw this.toError(e, "read whether auth is enabled");
    }
    throw new Error(`${this.where}: etcd accepted a login as ${PROBE_USER} with a random password; cannot tell whether auth is enabled`);
  }

  /**
   * Applies one step. Each step tolerates finding its work already done (another run got there
   * first): adding what exists, removing what is gone.
   */
  async apply(step: PlannedStep): Promise<void> {
    const c = step.change;
    const auth = this.client.auth;
    switch (c.kind) {
      case "user-added":
        // No password: the user can only be the common name of a client certificate.
        return this.tolerate([EtcdUserExistsError], `add user ${c.user}`, () => auth.userAdd({ name: c.user, options: { no_password: true } }));
      case "user-removed":
        return this.tolerate([EtcdUserNotFoundError], `remove user ${c.user}`, () => auth.userDelete({ name: c.user }));
      case "role-added":
        return this.tolerate([EtcdRoleExistsError], `add role ${c.role}`, () => auth.roleAdd({ name: c.role }));
      case "role-removed":
        return this.tolerate([EtcdRoleNotFoundError], `remove role ${c.role}`, () => auth.roleDelete({ role: c.role }));
      case "role-granted":
        return this.tolerate([], `grant role ${c.role} to user ${c.user}`, () => auth.userGrantRole({ user: c.user, role: c.role }));
      case "role-revoked":
        return this.tolerate([EtcdRoleNotGrantedError], `revoke role ${c.role} from user ${c.user}`, () => auth.userRevokeRole({ name: c.user, role: c.role }));
      case "permission-granted": {
        const range = requireRange(step);
        return this.tolerate([], `grant role ${c.role} a permission`, () =>
          auth.roleGrantPermission({ name: c.role, perm: { permType: PERM_TYPE[c.permission.access], key: range.key, range_end: range.rangeEnd } }),
        );
      }
      case "permission-revoked": {
        const range = requireRange(step);
        return this.tolerate(["permission is not granted to the role"], `revoke a permission of role ${c.role}`, () =>
          auth.roleRevokePermission({ role: c.role, key: range.key, range_end: range.rangeEnd }),
        );
      }
      case "auth-enabled":
        return this.tolerate([], "enable auth", () => auth.authEnable());
      case "auth-disabled":
        return this.tolerate([], "disable auth", () => auth.authDisable());
    }
  }

  private async userRoles(name: string): Promise<string[] | undefined> {
    try {
      return (await this.client.auth.userGet({ name })).roles;
    } catch (e) {
      if (e instanceof EtcdUserNotFoundError) return undefined; // removed since the list was read
      throw this.toError(e, `read user ${name}`);
    }
  }

  private async rolePermissions(name: string): Promise<EtcdPermission[] | undefined> {
    try {
      const perms = (await this.client.auth.roleGet({ role: name })).perm as unknown as RawPermission[];
      return perms.map((p) => {
        const access = ACCESS[p.permType];
        if (!access) throw new Error(`${this.where}: role ${name} holds a permission of unknown type ${JSON.stringify(p.permType)}`);
        return { access, range: toRange(p) };
      });
    } catch (e) {
      if (e instanceof EtcdRoleNotFoundError) return undefined;
      throw this.toError(e, `read role ${name}`);
    }
  }

  private async tolerate(done: readonly ((new (...args: never[]) => Error) | string)[], what: string, fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      if (done.some((d) => (typeof d === "string" ? e instanceof Error && e.message.includes(d) : e instanceof d))) return;
      throw this.toError(e, what);
    }
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw this.toError(e, what);
    }
  }

  private toError(e: unknown, what: string): Error {
    if (e instanceof EtcdPermissionDeniedError || (e instanceof Error && /permission denied/.test(e.message))) {
      return new PermissionDeniedError(
        `${this.where}: ${what}: etcd refused; users, roles and auth can be managed only as etcd's root user: connect with the client certificate whose common name is "root"`,
        { cause: e },
      );
    }
    return toKvError(e, `${this.where}: ${what}`);
  }
}

function requireRange(step: PlannedStep): EtcdRange {
  if (!step.range) throw new Error(`mesh access: a ${step.change.kind} step carries no key range`);
  return step.range;
}

function toRange(p: RawPermission): EtcdRange {
  return { key: Buffer.from(p.key ?? []), rangeEnd: Buffer.from(p.range_end ?? []) };
}
