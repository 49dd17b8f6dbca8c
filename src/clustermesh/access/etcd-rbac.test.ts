import assert from "node:assert/strict";
import { createServer, type AddressInfo } from "node:net";
import { after, before, describe, test, type TestContext } from "node:test";
import { Etcd3, EtcdPermissionDeniedError } from "etcd3";
import { EtcdStore, PermissionDeniedError, UnauthenticatedError, UnreachableError, type EtcdConfig, type KvStore } from "../../kvstore/index.js";
import { EtcdProcess, WatchRecorder } from "../../kvstore/testing/index.js";
import { createCertificateAuthority, issueCertificate, type KeyPairPem } from "../../pki/certificates.js";
import { HEARTBEAT_KEY, cachedNodeKey, clusterConfigKey, nodeKey, syncCanaryKeyOf } from "../../state/index.js";
import { describeChange } from "./access-plan.js";
import { describeMeshAccess, disableMeshAccess, enableMeshAccess } from "./etcd-rbac.js";
import { formatPermission } from "./key-range.js";
import { MeshAccessError } from "./mesh-access-policy.js";

/**
 * Cluster c1's etcd as Trellis runs it: TLS, client-certificate auth, certificates from the
 * cluster CA whose common name is the etcd user. Each client below connects with EtcdStore, as
 * the daemons and peers do.
 */

interface Pki {
  ca: KeyPairPem;
  server: KeyPairPem;
  certs: Record<"root" | "admin-c1" | "local-c1" | "remote" | "nobody", KeyPairPem>;
  /** Common name `remote`, but signed by another cluster's CA. */
  forgedRemote: KeyPairPem;
}

let pki: Pki;

before(async () => {
  const ca = await createCertificateAuthority("c1 CA");
  const client = (cn: string) => issueCertificate(ca, { commonName: cn, usage: "client" });
  const otherCa = await createCertificateAuthority("c2 CA");
  pki = {
    ca,
    server: await issueCertificate(ca, { commonName: "clustermesh-apiserver", usage: "server", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] }),
    certs: {
      root: await client("root"),
      "admin-c1": await client("admin-c1"),
      "local-c1": await client("local-c1"),
      remote: await client("remote"),
      nobody: await client("nobody"),
    },
    forgedRemote: await issueCertificate(otherCa, { commonName: "remote", usage: "client" }),
  };
});

type User = keyof Pki["certs"];

async function startEtcd(): Promise<EtcdProcess> {
  const root = pki.certs.root;
  return EtcdProcess.start({ tls: { ca: pki.ca.certPem, serverCert: pki.server.certPem, serverKey: pki.server.keyPem, clientCert: root.certPem, clientKey: root.keyPem } });
}

function configFor(etcd: EtcdProcess, cert: KeyPairPem): EtcdConfig {
  return { endpoints: [etcd.endpoint], tls: { ca: pki.ca.certPem, cert: cert.certPem, key: cert.keyPem } };
}

/** The etcd of one test, removed when the test ends however it ends, with a store per user. */
async function cluster(t: TestContext): Promise<{ etcd: EtcdProcess; as: (user: User) => EtcdStore }> {
  const etcd = await startEtcd();
  t.after(() => etcd.cleanup());
  const as = (user: User) => {
    const store = new EtcdStore(configFor(etcd, pki.certs[user]), { requestTimeoutMs: 5000 });
    t.after(() => store.close());
    return store;
  };
  return { etcd, as };
}

const C1_NODE = nodeKey("c1", "n1");
const C2_NODE = nodeKey("c2", "n9");
const C1_CONFIG = clusterConfigKey("c1");
const C2_CONFIG = clusterConfigKey("c2");
const C10_CONFIG = clusterConfigKey("c10");
const C1_CANARY = syncCanaryKeyOf("nodes", "c1");
const C10_CANARY = syncCanaryKeyOf("nodes", "c10");
const CACHED_NODE = cachedNodeKey("c2", "n9");
const TRELLIS_KEY = "trellis/ipam/c1/n1";

/** What a cluster's etcd holds: its own state, state written by a peer's KVStoreMesh into the cache, Trellis's own keys. */
async function seed(store: KvStore): Promise<void> {
  for (const [key, value] of [
    [C1_NODE, '{"Name":"n1","Cluster":"c1"}'],
    [C2_NODE, '{"Name":"n9","Cluster":"c2"}'],
    [C1_CONFIG, '{"id":1}'],
    [C2_CONFIG, '{"id":2}'],
    [C10_CONFIG, '{"id":10}'],
    [C1_CANARY, "2025-01-01T00:00:00Z"],
    [C10_CANARY, "2025-01-01T00:00:00Z"],
    [CACHED_NODE, '{"Name":"n9","Cluster":"c2"}'],
    [HEARTBEAT_KEY, "2025-01-01T00:00:00Z"],
    [TRELLIS_KEY, "100.65.1.0/24"],
  ]) {
    await store.put(key!, value!);
  }
}

async function deniedWatch(store: KvStore, prefix: string): Promise<Error> {
  const rec = new WatchRecorder();
  const watch = store.watch(prefix, rec);
  try {
    await rec.until(`the watch on ${prefix} to be refused`, (r) => r.errors.length > 0, 5000);
    return rec.errors[0]!;
  } finally {
    await watch.cancel();
  }
}

async function snapshot(store: KvStore): Promise<string[]> {
  return (await store.list("")).kvs.map((kv) => `${kv.key}=${kv.value.toString()}@${kv.modRevision}`);
}

describe("clustermesh enable: who may do what in c1's etcd", () => {
  let etcd: EtcdProcess;
  const stores: EtcdStore[] = [];
  const as = (user: User) => {
    const store = new EtcdStore(configFor(etcd, pki.certs[user]), { requestTimeoutMs: 5000 });
    stores.push(store);
    return store;
  };
  let remote: EtcdStore;
  let local: EtcdStore;
  let admin: EtcdStore;

  before(async () => {
    etcd = await startEtcd();
    admin = as("admin-c1");
    await seed(admin);
    await enableMeshAccess(etcd.config(), "c1");
    remote = as("remote");
    local = as("local-c1");
  });
  after(async () => {
    for (const s of stores) await s.close();
    await etcd?.cleanup();
  });

  test("status lists the certificate-only users, their roles and permissions, with auth on", async () => {
    const status = await describeMeshAccess(etcd.config(), "c1");
    assert.equal(status.state, "enabled");
    assert.equal(status.authEnabled, true);
    assert.deepEqual(status.pending, []);
    assert.deepEqual(
      status.users.map((u) => `${u.name}: ${u.roles.join(",")}`),
      ["admin-c1: admin", "local-c1: local", "remote: remote", "root: root"],
    );
    const perms = Object.fromEntries(status.roles.map((r) => [r.name, r.permissions.map(formatPermission)]));
    assert.deepEqual(perms, {
      admin: ["readwrite every key"],
      local: ["read key cilium/.heartbeat", "read prefix cilium/cache/", "read prefix cilium/cluster-config/", "read prefix cilium/synced/"],
      remote: ["read key cilium/.heartbeat", "read key cilium/cluster-config/c1", "read prefix cilium/state/", "read prefix cilium/synced/c1/"],
    });
  });

  test("remote reads the exported state, c1's cluster config, c1's canaries and the heartbeat", async () => {
    assert.equal((await remote.get(C1_NODE))?.value.toString(), '{"Name":"n1","Cluster":"c1"}');
    assert.deepEqual((await remote.list("cilium/state/")).kvs.map((kv) => kv.key), [C1_NODE, C2_NODE]);
    assert.equal((await remote.get(C1_CONFIG))?.value.toString(), '{"id":1}');
    assert.deepEqual((await remote.list("cilium/synced/c1/")).kvs.map((kv) => kv.key), [C1_CANARY]);
    assert.ok(await remote.get(HEARTBEAT_KEY));

    // A peer follows c1's state by watching it: the watch is accepted and delivers c1's writes.
    const rec = new WatchRecorder();
    const watch = remote.watch("cilium/state/", rec);
    try {
      await watch.ready;
      const rev = await admin.put(nodeKey("c1", "n2"), "{}");
      await rec.until("c1's new node", (r) => r.events.length > 0 || r.errors.length > 0);
      assert.deepEqual(rec.described(), [`put ${nodeKey("c1", "n2")}={}@${rev}`]);
    } finally {
      await watch.cancel();
      await admin.delete(nodeKey("c1", "n2"));
    }
  });

  test("remote writes nothing: put, delete, prefix delete, transaction and lease-bound put are refused", async () => {
    const before = await snapshot(admin);
    await assert.rejects(remote.put(C1_NODE, "{}"), PermissionDeniedError);
    await assert.rejects(remote.put(nodeKey("c2", "n5"), "{}"), PermissionDeniedError, "not even another cluster's subtree of cilium/state/");
    await assert.rejects(remote.put(C1_CONFIG, "{}"), PermissionDeniedError);
    await assert.rejects(remote.put(TRELLIS_KEY, "x"), PermissionDeniedError);
    await assert.rejects(remote.put("elsewhere", "x"), PermissionDeniedError);
    await assert.rejects(remote.delete(C1_NODE), PermissionDeniedError);
    await assert.rejects(remote.deletePrefix("cilium/state/"), PermissionDeniedError);
    await assert.rejects(remote.txn({ success: [{ type: "put", key: C1_NODE, value: "{}" }] }), PermissionDeniedError);
    await assert.rejects(remote.txn({ compare: [{ key: C1_NODE, target: "version", op: ">", value: 0 }], success: [{ type: "delete", key: C1_NODE }] }), PermissionDeniedError);
    // etcd 3.4 grants leases to any user; only binding a key to one is a write it refuses.
    const lease = await remote.grantLease(10);
    try {
      await assert.rejects(remote.put(nodeKey("c1", "n7"), "{}", { lease }), PermissionDeniedError);
    } finally {
      await lease.revoke();
    }
    assert.deepEqual(await snapshot(admin), before, "the etcd is as it was");
  });

  test("remote reads nothing else: Trellis's keys, the cache, other clusters' config and canaries, cilium/ as a whole", async () => {
    for (const key of [TRELLIS_KEY, CACHED_NODE, C2_CONFIG, C10_CONFIG, C10_CANARY]) {
      await assert.rejects(remote.get(key), PermissionDeniedError, key);
    }
    for (const prefix of ["trellis/", "cilium/cache/", "cilium/cluster-config/", "cilium/synced/", "cilium/synced/c10/", "cilium/", ""]) {
      await assert.rejects(remote.list(prefix), PermissionDeniedError, `list ${JSON.stringify(prefix)}`);
    }
  });

  test("remote's watches outside its prefixes are refused", async () => {
    for (const prefix of ["cilium/", "trellis/", "cilium/cache/", "cilium/cluster-config/", "cilium/synced/"]) {
      const error = await deniedWatch(remote, prefix);
      assert.ok(error instanceof PermissionDeniedError, `watch ${prefix}: got ${error}`);
    }
  });

  test("local-c1 reads the KVStoreMesh cache, cluster configs and canaries, and writes nothing", async () => {
    assert.deepEqual((await local.list("cilium/cache/")).kvs.map((kv) => kv.key), [CACHED_NODE]);
    assert.deepEqual((await local.list("cilium/cluster-config/")).kvs.map((kv) => kv.key), [C1_CONFIG, C10_CONFIG, C2_CONFIG]);
    assert.deepEqual((await local.list("cilium/synced/")).kvs.map((kv) => kv.key), [C1_CANARY, C10_CANARY]);
    assert.ok(await local.get(HEARTBEAT_KEY));
    const rec = new WatchRecorder();
    const watch = local.watch("cilium/cache/", rec);
    await watch.ready;
    await watch.cancel();
    assert.deepEqual(rec.errors, []);

    await assert.rejects(local.put(CACHED_NODE, "{}"), PermissionDeniedError);
    await assert.rejects(local.delete(CACHED_NODE), PermissionDeniedError);
    await assert.rejects(local.txn({ success: [{ type: "put", key: cachedNodeKey("c2", "n3"), value: "{}" }] }), PermissionDeniedError);
    await assert.rejects(local.get(C1_NODE), PermissionDeniedError, "agents read remote state from the cache, not from cilium/state/");
    await assert.rejects(local.get(TRELLIS_KEY), PermissionDeniedError);
    assert.ok((await deniedWatch(local, "cilium/state/")) instanceof PermissionDeniedError);
  });

  test("admin-c1 reads and writes every key, but cannot manage users or turn auth off", async () => {
    await admin.put("trellis/scratch", "1");
    await admin.txn({ success: [{ type: "put", key: nodeKey("c1", "n3"), value: "{}" }, { type: "delete", key: "trellis/scratch" }] });
    const lease = await admin.grantLease(10);
    await admin.put(HEARTBEAT_KEY, "2025-01-01T00:01:00Z", { lease });
    assert.equal(await admin.delete(nodeKey("c1", "n3")), 1);
    await lease.revoke();
    const all = (await admin.list("")).kvs.map((kv) => kv.key);
    assert.ok(all.includes(TRELLIS_KEY) && all.includes(CACHED_NODE) && all.includes(C2_CONFIG), all.join(","));

    const rec = new WatchRecorder();
    const watch = admin.watch("", rec);
    try {
      await watch.ready;
      await admin.put("trellis/watched", "1");
      await rec.until("the write", (r) => r.events.length > 0);
    } finally {
      await watch.cancel();
      await admin.delete("trellis/watched");
    }

    // The auth API itself (not Trellis's up-front check) refuses the daemons' certificate.
    const raw = new Etcd3({ hosts: etcd.endpoint, credentials: { rootCertificate: Buffer.from(pki.ca.certPem), certChain: Buffer.from(pki.certs["admin-c1"].certPem), privateKey: Buffer.from(pki.certs["admin-c1"].keyPem) } });
    try {
      await assert.rejects(raw.auth.authDisable(), EtcdPermissionDeniedError);
      await assert.rejects(raw.auth.userAdd({ name: "intruder", options: { no_password: true } }), EtcdPermissionDeniedError);
    } finally {
      raw.close();
    }
    await assert.rejects(enableMeshAccess(configFor(etcd, pki.certs["admin-c1"]), "c1"), (e: Error) => e instanceof MeshAccessError && e.message.includes('"admin-c1"') && e.message.includes('"root"'));
  });

  test("the users have no password: a login as remote with any password is refused", async () => {
    const config: EtcdConfig = { ...configFor(etcd, pki.certs.root), auth: { username: "remote", password: "" } };
    const store = new EtcdStore(config);
    try {
      await assert.rejects(store.get(C1_NODE), UnauthenticatedError);
    } finally {
      await store.close();
    }
  });

  test("a client certificate from another CA is refused in the TLS handshake, whatever its common name", async () => {
    // etcd's TLS checks the chain before RBAC sees a name: the handshake ends with a "bad
    // certificate" alert, which the kvstore reports as UnauthenticatedError (not retryable).
    const forged = new EtcdStore(configFor(etcd, pki.forgedRemote));
    try {
      await assert.rejects(forged.get(C1_NODE), (e: Error) => e instanceof UnauthenticatedError && /not signed by the CA etcd trusts/.test(e.message));
    } finally {
      await forged.close();
    }
    await assert.rejects(EtcdStore.connect(configFor(etcd, pki.forgedRemote)), UnauthenticatedError);
  });

  test("a certificate from the cluster CA whose common name is no etcd user may do nothing", async () => {
    // etcd 3.4 answers such a certificate with "permission denied", not an authentication error.
    const nobody = as("nobody");
    await assert.rejects(nobody.get(C1_NODE), PermissionDeniedError);
    await assert.rejects(nobody.put("x", "1"), PermissionDeniedError);
  });

  test("limit of etcd RBAC, recorded: compaction is not permission-checked, so remote can compact", async () => {
    // Compaction discards history (watchers from old revisions must re-list) but no data. etcd
    // 3.4 checks no permission for it; peers are trusted not to, as in Cilium.
    const rev = await admin.revision();
    await remote.compact(rev);
    assert.equal((await admin.get(C1_NODE))?.value.toString(), '{"Name":"n1","Cluster":"c1"}');
  });
});

describe("clustermesh enable and disable over time", () => {
  test("daemons connected before enable keep working; auth comes on only after their user exists", async (t) => {
    const { etcd, as } = await cluster(t);
    const admin = as("admin-c1");
    const nobody = as("nobody");
    await seed(admin);
    assert.ok(await nobody.get(C1_NODE), "before enable any certificate from the cluster CA reads everything");
    const rec = new WatchRecorder();
    await admin.watch("cilium/", rec).ready;

    const result = await enableMeshAccess(etcd.config(), "c1");
    const kinds = result.changes.map((c) => c.kind);
    assert.equal(kinds.at(-1), "auth-enabled");
    assert.ok(kinds.indexOf("user-added") < kinds.indexOf("auth-enabled"));
    assert.deepEqual(
      result.changes.flatMap((c) => (c.kind === "user-added" ? [c.user] : [])),
      ["root", "admin-c1", "local-c1", "remote"],
    );
    assert.equal(result.authEnabled, true);

    const rev = await admin.put(nodeKey("c1", "n2"), "{}");
    await rec.until("the operator's write on the watch opened before enable", (r) => r.events.some((e) => e.type === "put" && e.kv.modRevision === rev));
    assert.deepEqual(rec.errors, []);
    await assert.rejects(nobody.get(C1_NODE), PermissionDeniedError);
  });

  test("enable twice: the second run changes nothing", async (t) => {
    const { etcd } = await cluster(t);
    const first = await enableMeshAccess(etcd.config(), "c1");
    assert.ok(first.changes.length > 10, first.changes.map(describeChange).join("; "));
    const status = await describeMeshAccess(etcd.config(), "c1");
    const second = await enableMeshAccess(etcd.config(), "c1");
    assert.deepEqual(second.changes, []);
    assert.equal(second.authEnabled, true);
    assert.deepEqual(await describeMeshAccess(etcd.config(), "c1"), status);
  });

  test("enable undoes access granted to remote by hand", async (t) => {
    const { etcd, as } = await cluster(t);
    // An open EtcdStore works as the target as well as a config.
    const root = as("root");
    await enableMeshAccess(root, "c1");
    await etcd.etcdctl(["role", "grant-permission", "remote", "--prefix=true", "readwrite", "cilium/"]);
    await etcd.etcdctl(["user", "grant-role", "remote", "admin"]);
    const remote = as("remote");
    await remote.put("trellis/planted", "x");
    const status = await describeMeshAccess(root, "c1");
    assert.equal(status.state, "partial");
    assert.deepEqual(status.pending.map(describeChange), ["revoked role admin from user remote", "role remote may no longer readwrite prefix cilium/"]);

    const result = await enableMeshAccess(root, "c1");
    assert.deepEqual(result.changes.map(describeChange), ["revoked role admin from user remote", "role remote may no longer readwrite prefix cilium/"]);
    await assert.rejects(remote.put(C1_NODE, "{}"), PermissionDeniedError);
    await assert.rejects(remote.get("trellis/planted"), PermissionDeniedError);
    assert.equal((await describeMeshAccess(root, "c1")).state, "enabled");
  });

  test("disable removes remote and local-c1 and turns auth off: then no mesh access is expected, and none is enforced", async (t) => {
    const { etcd, as } = await cluster(t);
    const admin = as("admin-c1");
    await seed(admin);
    await enableMeshAccess(etcd.config(), "c1");
    const remote = as("remote");
    await assert.rejects(remote.put(C1_NODE, "{}"), PermissionDeniedError);

    const result = await disableMeshAccess(etcd.config(), "c1");
    assert.deepEqual(result.changes.map((c) => describeChange(c)), [
      "removed user remote",
      "removed user local-c1",
      "removed role remote",
      "removed role local",
      "disabled etcd auth: every client certificate from the cluster CA may read and write every key",
    ]);
    assert.equal(result.authEnabled, false);
    const status = await describeMeshAccess(etcd.config(), "c1");
    assert.equal(status.state, "disabled");
    assert.deepEqual(status.users.map((u) => u.name), ["admin-c1", "root"]);
    assert.deepEqual(status.roles.map((r) => r.name), ["admin"]);
    assert.deepEqual((await disableMeshAccess(etcd.config(), "c1")).changes, [], "a second disable changes nothing");

    // The cluster's own daemons never notice.
    await admin.put(C1_NODE, '{"Name":"n1","Cluster":"c1","v":2}');
    // With auth off, etcd only checks that a certificate chains to the cluster CA: a peer's
    // leftover remote certificate may now read and write anything. Disable is meant for when the
    // etcd is no longer exposed to peers.
    assert.equal((await remote.get(TRELLIS_KEY))?.value.toString(), "100.65.1.0/24");
    await remote.put("trellis/from-remote", "x");

    const again = await enableMeshAccess(etcd.config(), "c1");
    assert.deepEqual(
      again.changes.map((c) => c.kind),
      ["role-added", "permission-granted", "permission-granted", "permission-granted", "permission-granted", "role-added", "permission-granted", "permission-granted", "permission-granted", "permission-granted", "user-added", "role-granted", "user-added", "role-granted", "auth-enabled"],
    );
    await assert.rejects(remote.put(C1_NODE, "{}"), PermissionDeniedError);
  });

  test("disable with keepAuth: remote's certificate is refused outright, the daemons keep working", async (t) => {
    const { etcd, as } = await cluster(t);
    const admin = as("admin-c1");
    await seed(admin);
    await enableMeshAccess(etcd.config(), "c1");
    const remote = as("remote");
    assert.ok(await remote.get(C1_NODE));

    const result = await disableMeshAccess(etcd.config(), "c1", { keepAuth: true });
    assert.deepEqual(result.changes.map((c) => c.kind), ["user-removed", "user-removed", "role-removed", "role-removed"]);
    assert.equal(result.authEnabled, true);
    await assert.rejects(remote.get(C1_NODE), PermissionDeniedError);
    await assert.rejects(as("local-c1").get(CACHED_NODE), PermissionDeniedError);
    await admin.put(C1_NODE, "{}");
    const status = await describeMeshAccess(etcd.config(), "c1");
    assert.equal(status.state, "disabled");
    assert.equal(status.authEnabled, true);
  });
});

describe("mesh access refuses what it cannot use", () => {
  const someConfig = (): EtcdConfig => ({ endpoints: ["https://localhost:2379"], tls: { ca: pki.ca.certPem, cert: pki.certs.root.certPem, key: pki.certs.root.keyPem } });

  test("a cluster name that is not one", async () => {
    await assert.rejects(enableMeshAccess(someConfig(), "Cluster_1"), (e: Error) => e instanceof MeshAccessError && e.message.includes('"Cluster_1"'));
    await assert.rejects(disableMeshAccess(someConfig(), ""), MeshAccessError);
    await assert.rejects(describeMeshAccess(someConfig(), "c1/x"), MeshAccessError);
  });

  test("a connection that is not root's client certificate", async () => {
    const { tls: _tls, ...noTls } = someConfig();
    await assert.rejects(enableMeshAccess({ ...noTls, endpoints: ["http://localhost:2379"] }, "c1"), (e: Error) => e instanceof MeshAccessError && /no client certificate/.test(e.message));
    await assert.rejects(enableMeshAccess({ ...someConfig(), tls: { ca: pki.ca.certPem } }, "c1"), /no client certificate/);
    await assert.rejects(
      enableMeshAccess({ ...someConfig(), tls: { ca: pki.ca.certPem, cert: pki.certs.remote.certPem, key: pki.certs.remote.keyPem } }, "c1"),
      (e: Error) => e instanceof MeshAccessError && e.message.includes('common name "remote"'),
    );
    await assert.rejects(enableMeshAccess({ ...someConfig(), auth: { username: "root", password: "pw" } }, "c1"), /certificate-only/);
    await assert.rejects(enableMeshAccess({ endpoints: [] }, "c1"), /endpoints/);
    await assert.rejects(enableMeshAccess(someConfig(), "c1", { requestTimeoutMs: 0 }), /requestTimeoutMs.*got 0/);
  });

  test("an etcd that does not answer: UnreachableError", async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    const config = { ...someConfig(), endpoints: [`https://localhost:${port}`] };
    await assert.rejects(enableMeshAccess(config, "c1", { requestTimeoutMs: 2000 }), UnreachableError);
    await assert.rejects(describeMeshAccess(config, "c1", { requestTimeoutMs: 2000 }), UnreachableError);
  });
});
