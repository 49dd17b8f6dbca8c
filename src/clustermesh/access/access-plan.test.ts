import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { describeChange, planDisable, planEnable, type AccessState } from "./access-plan.js";
import { toEtcdRange } from "./key-range.js";
import { MeshAccessError, meshAccessPolicy, type MeshAccessPolicy } from "./mesh-access-policy.js";

/** The state etcd holds once the policy is fully applied. */
function enabledState(policy: MeshAccessPolicy): AccessState {
  return {
    authEnabled: true,
    users: policy.users.map((u) => ({ name: u.name, roles: [...u.roles] })),
    roles: policy.roles.map((r) => ({ name: r.name, permissions: r.permissions.map((p) => ({ access: p.access, range: toEtcdRange(p.range) })) })),
  };
}

const EMPTY: AccessState = { authEnabled: false, users: [], roles: [] };

describe("mesh access policy", () => {
  test("remote reads exported state, its own cluster's config and canaries, and the heartbeat; nothing else", () => {
    const remote = meshAccessPolicy("c1").roles.find((r) => r.name === "remote")!;
    assert.deepEqual(remote.permissions, [
      { access: "read", range: { kind: "prefix", prefix: "cilium/state/" } },
      { access: "read", range: { kind: "key", key: "cilium/cluster-config/c1" } },
      { access: "read", range: { kind: "prefix", prefix: "cilium/synced/c1/" } },
      { access: "read", range: { kind: "key", key: "cilium/.heartbeat" } },
    ]);
  });

  test("a cluster name that is not one is refused, naming the value", () => {
    assert.throws(() => meshAccessPolicy("C1 prod"), (e: Error) => e instanceof MeshAccessError && e.message.includes('"C1 prod"'));
    assert.throws(() => meshAccessPolicy("c1/../x"), MeshAccessError);
  });
});

describe("planning mesh access", () => {
  const policy = meshAccessPolicy("c1");

  test("on a bare etcd: roles, then users, then auth last", () => {
    const kinds = planEnable(policy, EMPTY).map((s) => s.change.kind);
    assert.equal(kinds.at(-1), "auth-enabled");
    assert.equal(kinds.filter((k) => k === "auth-enabled").length, 1);
    assert.ok(kinds.lastIndexOf("permission-granted") < kinds.indexOf("user-added"), `roles are complete before any user exists: ${kinds.join(",")}`);
    const users = planEnable(policy, EMPTY).flatMap((s) => (s.change.kind === "user-added" ? [s.change.user] : []));
    assert.deepEqual(users, ["root", "admin-c1", "local-c1", "remote"]);
  });

  test("nothing to do once etcd holds the policy", () => {
    assert.deepEqual(planEnable(policy, enabledState(policy)), []);
  });

  test("hand-made widening is undone, and undone before anything is granted", () => {
    const state = enabledState(policy);
    const drifted: AccessState = {
      ...state,
      users: state.users.map((u) => (u.name === "remote" ? { name: "remote", roles: ["admin", "remote"] } : u.name === "root" ? { name: "root", roles: ["admin", "root"] } : u)),
      roles: state.roles.map((r) =>
        r.name === "remote"
          ? {
              name: "remote",
              permissions: [
                { access: "readwrite" as const, range: toEtcdRange({ kind: "prefix", prefix: "cilium/state/" }) },
                { access: "read" as const, range: toEtcdRange({ kind: "prefix", prefix: "trellis/" }) },
                ...r.permissions.slice(1),
              ],
            }
          : r,
      ),
    };
    assert.deepEqual(
      planEnable(policy, drifted).map((s) => describeChange(s.change)),
      [
        "revoked role admin from user remote",
        "role remote may no longer read prefix trellis/",
        "role remote may read prefix cilium/state/",
      ],
      "root's extra role is left alone: root may do everything anyway",
    );
  });

  test("a revoke names the exact bytes etcd holds", () => {
    const odd = { key: Buffer.from([0x63, 0xff]), rangeEnd: Buffer.from([0x64, 0x01]) };
    const state = enabledState(policy);
    const drifted = { ...state, roles: state.roles.map((r) => (r.name === "local" ? { ...r, permissions: [...r.permissions, { access: "read" as const, range: odd }] } : r)) };
    const [step] = planEnable(policy, drifted);
    assert.equal(step?.change.kind, "permission-revoked");
    assert.deepEqual(step?.range, odd);
  });

  test("disable removes the mesh users, then their roles, then auth; keepAuth leaves auth on", () => {
    assert.deepEqual(
      planDisable(policy, enabledState(policy), false).map((s) => describeChange(s.change)),
      ["removed user remote", "removed user local-c1", "removed role remote", "removed role local", "disabled etcd auth: every client certificate from the cluster CA may read and write every key"],
    );
    assert.deepEqual(
      planDisable(policy, enabledState(policy), true).map((s) => s.change.kind),
      ["user-removed", "user-removed", "role-removed", "role-removed"],
    );
    assert.deepEqual(planDisable(policy, EMPTY, false), []);
  });
});
