import assert from "node:assert/strict";
import { createServer, type AddressInfo } from "node:net";
import { after, before, describe, test, type TestContext } from "node:test";
import { Etcd3 } from "etcd3";
import { createCertificateAuthority, issueCertificate } from "../pki/certificates.js";
import { describeKvStoreContract } from "./contract.js";
import type { EtcdConfig } from "./etcd-config.js";
import { EtcdStore, type EtcdStoreOptions, type KvOperation } from "./etcd-store.js";
import { LeaseLostError, PermissionDeniedError, UnauthenticatedError, UnreachableError } from "./errors.js";
import type { KvStore } from "./kvstore.js";
import { EtcdProcess, type EtcdProcessOptions } from "./testing/etcd-process.js";
import { WatchRecorder, waitFor } from "./testing/watch-recorder.js";

describe("EtcdStore on a real etcd", () => {
  let etcd: EtcdProcess;
  let admin: Etcd3;
  before(async () => {
    etcd = await EtcdProcess.start();
    admin = new Etcd3({ hosts: etcd.endpoint });
  });
  after(async () => {
    admin?.close();
    await etcd?.cleanup();
  });

  describeKvStoreContract("EtcdStore", async () => {
    const clients: KvStore[] = [];
    const open = () => {
      const c = new EtcdStore(etcd.config());
      clients.push(c);
      return c;
    };
    return {
      store: open(),
      newClient: async () => open(),
      // etcd ends an expired lease exactly as a revoke from another client does.
      expireLease: async (lease) => {
        await admin.leaseClient.leaseRevoke({ ID: lease.id });
      },
      close: async () => {
        for (const c of clients) await c.close();
      },
    };
  });
});

/** A store that is closed, and an etcd that is removed, when the test ends however it ends. */
async function startEtcd(t: TestContext, options: EtcdProcessOptions = {}): Promise<EtcdProcess> {
  const etcd = await EtcdProcess.start(options);
  t.after(() => etcd.cleanup());
  return etcd;
}

function storeFor(t: TestContext, config: EtcdConfig, options: EtcdStoreOptions = {}): EtcdStore {
  const store = new EtcdStore(config, options);
  t.after(() => store.close());
  return store;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("EtcdStore when etcd is down, hung or restarted", () => {
  test("calls to an endpoint where nothing listens fail fast with UnreachableError", async (t) => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const store = storeFor(t, { endpoints: [endpoint] });
    const started = Date.now();
    await assert.rejects(store.put("k", "v"), (e: Error) => e instanceof UnreachableError && e.message.includes(endpoint) && e.message.includes("put k"));
    assert.ok(Date.now() - started < 3000, "no waiting for a request deadline when the port refuses");
    await assert.rejects(EtcdStore.connect({ endpoints: [endpoint], dialTimeoutMs: 400 }), /no answer within the dial timeout of 400 ms/);
  });

  test("a watch ends with UnreachableError when etcd is killed; after a restart the same store works again", async (t) => {
    const etcd = await startEtcd(t);
    const store = storeFor(t, etcd.config());
    await store.put("k", "before");
    const rec = new WatchRecorder();
    await store.watch("k", rec).ready;
    await etcd.kill();
    await rec.until("the watch to end", (r) => r.errors.length > 0, 5000);
    assert.ok(rec.errors[0] instanceof UnreachableError, `got ${rec.errors[0]}`);
    await assert.rejects(store.get("k"), UnreachableError);
    await etcd.restart();
    await waitFor("the store to reach etcd again", () => store.get("k").then((kv) => kv?.value.toString() === "before", () => false), 10_000, 100);
    const again = new WatchRecorder();
    await store.watch("k", again).ready;
    const rev = await store.put("k", "after");
    await again.until("an event after the restart", (r) => r.events.length === 1);
    assert.equal(again.described()[0], `put k=after@${rev}`);
  });

  test("a hung etcd (SIGSTOP) ends a watch through the watchdog rather than leaving it silent", async (t) => {
    const etcd = await startEtcd(t);
    const store = storeFor(t, etcd.config(), { watchdogMs: 300, requestTimeoutMs: 1000 });
    const rec = new WatchRecorder();
    await store.watch("k", rec).ready;
    etcd.pause();
    t.after(() => etcd.resume());
    const paused = Date.now();
    await rec.until("the watchdog", (r) => r.errors.length > 0, 5000);
    assert.ok(rec.errors[0] instanceof UnreachableError, `got ${rec.errors[0]}`);
    assert.match(rec.errors[0].message, /did not answer on the watch stream/);
    assert.ok(Date.now() - paused < 3000);
    await assert.rejects(store.get("k"), UnreachableError, "a request to a hung etcd hits its deadline");
  });

  test("a lease is lost when etcd stays unreachable for longer than its TTL", async (t) => {
    const etcd = await startEtcd(t);
    const store = storeFor(t, etcd.config());
    const lease = await store.grantLease(2);
    const lost: Error[] = [];
    lease.onLost((e) => lost.push(e));
    await store.put("leased", "v", { lease });
    await etcd.kill();
    const killed = Date.now();
    await waitFor("onLost", () => lost.length > 0, 8000, 50);
    assert.ok(lost[0] instanceof LeaseLostError, `got ${lost[0]}`);
    assert.ok(Date.now() - killed >= 1000, "not before the TTL could have run out");
    assert.equal(lease.lost, true);
  });

  test("lists a large prefix in pages, as one snapshot", async (t) => {
    const etcd = await startEtcd(t);
    const store = storeFor(t, etcd.config(), { listPageSize: 7 });
    const keys = Array.from({ length: 40 }, (_, i) => `p/${String(i).padStart(2, "0")}`);
    for (let i = 0; i < keys.length; i += 10) {
      await store.txn({ success: keys.slice(i, i + 10).map((key) => ({ type: "put" as const, key, value: key })) });
    }
    await store.put("q/outside", "x");
    const res = await store.list("p/");
    assert.deepEqual(res.kvs.map((kv) => kv.key), keys);
    assert.equal(res.revision, await store.revision());
  });
});

describe("EtcdStore credentials", () => {
  test("password auth: a wrong password or no credentials is UnauthenticatedError, a user without roles PermissionDeniedError", async (t) => {
    const etcd = await startEtcd(t);
    for (const args of [["user", "add", "root:rootpw"], ["user", "grant-role", "root", "root"], ["user", "add", "alice:alicepw"], ["auth", "enable"]]) {
      await etcd.etcdctl(args);
    }
    const root = storeFor(t, etcd.config({ auth: { username: "root", password: "rootpw" } }));
    await root.put("k", "v");
    const wrong = storeFor(t, etcd.config({ auth: { username: "root", password: "wrong" } }));
    await assert.rejects(wrong.get("k"), (e: Error) => e instanceof UnauthenticatedError && e.retryable === false && /password/.test(e.message));
    await assert.rejects(EtcdStore.connect(etcd.config({ auth: { username: "root", password: "wrong" } })), UnauthenticatedError);
    const anonymous = storeFor(t, etcd.config());
    await assert.rejects(anonymous.get("k"), UnauthenticatedError);
    const alice = storeFor(t, etcd.config({ auth: { username: "alice", password: "alicepw" } }));
    await assert.rejects(alice.put("k", "x"), PermissionDeniedError);
    const rec = new WatchRecorder();
    alice.watch("k", rec);
    await rec.until("the watch to be refused", (r) => r.errors.length > 0);
    assert.ok(rec.errors[0] instanceof PermissionDeniedError, `got ${rec.errors[0]}`);
  });

  test("TLS with client certificates: the certificate's CN is the etcd user; a missing one is refused", async (t) => {
    const ca = await createCertificateAuthority("trellis-test-ca");
    const server = await issueCertificate(ca, { commonName: "etcd", usage: "server", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
    const rootCert = await issueCertificate(ca, { commonName: "root", usage: "client" });
    const remoteCert = await issueCertificate(ca, { commonName: "remote", usage: "client" });
    const etcd = await startEtcd(t, { tls: { ca: ca.certPem, serverCert: server.certPem, serverKey: server.keyPem, clientCert: rootCert.certPem, clientKey: rootCert.keyPem } });
    assert.match(etcd.endpoint, /^https:\/\/localhost:\d+$/);

    const root = storeFor(t, etcd.config());
    const rev = await root.put("cilium/state/nodes/v1/c1/n1", "{}");
    const rec = new WatchRecorder();
    await root.watch("cilium/state/", rec, { fromRevision: rev }).ready;
    await rec.until("the event over TLS", (r) => r.events.length === 1);

    // The recipe from FACTS.md: a read-only `remote` user identified by its certificate.
    for (const args of [
      ["user", "add", "root", "--no-password"],
      ["user", "grant-role", "root", "root"],
      ["role", "add", "remote-read"],
      ["role", "grant-permission", "remote-read", "--prefix=true", "read", "cilium/state/"],
      ["user", "add", "remote", "--no-password"],
      ["user", "grant-role", "remote", "remote-read"],
      ["auth", "enable"],
    ]) {
      await etcd.etcdctl(args);
    }
    const remote = storeFor(t, { endpoints: [etcd.endpoint], tls: { ca: ca.certPem, cert: remoteCert.certPem, key: remoteCert.keyPem } });
    assert.equal((await remote.list("cilium/state/")).kvs.length, 1);
    await assert.rejects(remote.put("cilium/state/nodes/v1/c1/n2", "{}"), PermissionDeniedError);
    await assert.rejects(remote.get("cilium/other"), PermissionDeniedError);

    const noCert = storeFor(t, { endpoints: [etcd.endpoint], tls: { ca: ca.certPem } });
    await assert.rejects(noCert.get("cilium/state/nodes/v1/c1/n1"), (e: Error) => e instanceof UnauthenticatedError && /client certificate/.test(e.message));
    const otherCa = await createCertificateAuthority("some-other-ca");
    const wrongCa = storeFor(t, { endpoints: [etcd.endpoint], tls: { ca: otherCa.certPem, cert: rootCert.certPem, key: rootCert.keyPem } });
    await assert.rejects(wrongCa.get("k"), (e: Error) => e instanceof UnreachableError && /server certificate is not trusted/.test(e.message));
  });
});

describe("EtcdStore's observe option", () => {
  test("reports every request once it has ended: kind, key, time taken, and whether it worked", async (t) => {
    const etcd = await startEtcd(t);
    const seen: KvOperation[] = [];
    const store = storeFor(t, etcd.config(), { observe: (op) => seen.push(op) });
    await store.put("cilium/state/nodes/v1/c1/n1", "v");
    await store.get("cilium/state/nodes/v1/c1/n1");
    await store.list("cilium/state/");
    await store.txn({ compare: [{ key: "trellis/pods/a", target: "version", op: "==", value: 0 }], success: [{ type: "put", key: "trellis/pods/a", value: "x" }] });
    await store.deletePrefix("cilium/state/");
    assert.deepEqual(
      seen.map((o) => [o.kind, o.key, o.ok]),
      [
        ["put", "cilium/state/nodes/v1/c1/n1", true],
        ["get", "cilium/state/nodes/v1/c1/n1", true],
        ["list", "cilium/state/", true],
        ["txn", "trellis/pods/a", true],
        ["deletePrefix", "cilium/state/", true],
      ],
    );
    assert.ok(seen.every((o) => o.seconds >= 0 && o.seconds < 10));

    const down = storeFor(t, { endpoints: [`http://127.0.0.1:${await freePort()}`] }, { observe: (op) => seen.push(op) });
    await assert.rejects(down.get("k"), UnreachableError);
    assert.deepEqual([seen.at(-1)!.kind, seen.at(-1)!.key, seen.at(-1)!.ok], ["get", "k", false]);
  });

  test("an observer that throws does not fail the request", async (t) => {
    const down = storeFor(t, { endpoints: [`http://127.0.0.1:${await freePort()}`] }, {
      observe: () => {
        throw new Error("observer bug");
      },
    });
    await assert.rejects(down.get("k"), UnreachableError, "the request's own error, not the observer's");
  });
});
