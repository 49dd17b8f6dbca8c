import assert from "node:assert/strict";
import { test } from "node:test";
import { EtcdStore, PermissionDeniedError } from "../../src/kvstore/index.js";
import { clusterConfigKey } from "../../src/state/index.js";
import { startMeshCluster } from "./mesh-cluster.js";

test("a bench cluster's etcd is as `clustermesh enable` leaves it: TLS, and each certificate only as good as its etcd user", async (t) => {
  const c = await startMeshCluster("cluster-5", 5);
  const admin = new EtcdStore(c.admin);
  const remote = new EtcdStore({ endpoints: c.peer.endpoints, tls: c.peer.tls! });
  const local = new EtcdStore(c.local);
  t.after(async () => {
    await Promise.all([admin.close(), remote.close(), local.close()]);
    await c.cleanup();
  });
  assert.match(c.peer.endpoints[0]!, /^https:\/\/localhost:\d+$/);
  assert.equal(c.clientPort, Number(new URL(c.peer.endpoints[0]!).port));

  await admin.put("cilium/state/nodes/v1/cluster-5/node-1", "{}");
  const config = await remote.get(clusterConfigKey("cluster-5"));
  assert.match(config!.value.toString(), /"id":5/, "peers read the cluster config");
  assert.ok(await remote.get("cilium/state/nodes/v1/cluster-5/node-1"), "peers read exported state");
  await assert.rejects(remote.put("cilium/state/nodes/v1/cluster-5/node-2", "{}"), PermissionDeniedError, "peers write nothing");
  await assert.rejects(local.get("cilium/state/nodes/v1/cluster-5/node-1"), PermissionDeniedError, "cache readers read only the cache");
});
