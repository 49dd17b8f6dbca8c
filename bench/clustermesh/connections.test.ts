import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { EtcdStore } from "../../src/kvstore/index.js";
import { establishedOnPort, serverSideConnections, settledCounts } from "./connections.js";
import { startMeshCluster } from "./mesh-cluster.js";

describe("serverSideConnections", () => {
  test("counts the server's side of each connection, not the client's side of the same one", () => {
    // `ss -Htn state established '( sport = :2379 or dport = :2379 )'` with two clients on one host.
    const out = [
      "0      0      127.0.0.1:2379  127.0.0.1:54548",
      "0      0      127.0.0.1:2379  127.0.0.1:54546",
      "0      0      127.0.0.1:54548 127.0.0.1:2379",
      "0      0      127.0.0.1:54546 127.0.0.1:2379",
      "0      0      127.0.0.1:23790 127.0.0.1:41000",
      "",
    ].join("\n");
    assert.equal(serverSideConnections(out, 2379), 2);
    assert.equal(serverSideConnections("", 2379), 0);
  });
});

test("each TLS etcd client of this process is one more connection on the etcd's client port, and closing it removes it", async (t) => {
  const cluster = await startMeshCluster("cluster-7", 7);
  const stores: EtcdStore[] = [];
  t.after(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await cluster.cleanup();
  });
  // The set-up's own connections may still be closing: count from a settled baseline.
  const [before] = (await settledCounts([cluster.clientPort])) as [number];
  for (let i = 0; i < 3; i++) {
    const s = new EtcdStore(cluster.admin);
    stores.push(s);
    await s.get("cilium/.heartbeat");
  }
  assert.equal((await settledCounts([cluster.clientPort]))[0], before + 3, "three clients with the same certificate still make three connections");
  await Promise.all(stores.splice(0).map((s) => s.close()));
  const deadline = Date.now() + 5_000;
  while ((await establishedOnPort(cluster.clientPort)) !== before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(await establishedOnPort(cluster.clientPort), before);
});
