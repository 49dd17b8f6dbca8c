import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { validateClusterInfo } from "../cluster/index.js";
import { ClusterMesh } from "../clustermesh/index.js";
import { publishCanaries, publishClusterConfig } from "../clustermesh/testing/index.js";
import { MemoryStore } from "../kvstore/index.js";
import { waitFor } from "../kvstore/testing/index.js";
import { Syncer } from "../state/syncer.js";
import { applyExports, desiredExports } from "./export.js";
import type { LocalServiceState } from "./local-service.js";
import { ServiceMerger } from "./merge.js";
import { ServiceIdAllocator } from "./service-ids.js";
import { formatServiceList, serviceModels } from "./service-list-format.js";
import { ServiceTable } from "./service-table.js";
import { CLUSTER_1, CLUSTER_2, CLUSTER_2_STATUS, SEED_ANNOTATIONS, cluster1State, endpoints, nginxService } from "./testing/seed-002.js";

/**
 * Seed 002 end to end through the real mesh code: cluster-2's operator exports nginx-deployment
 * into cluster-2's kvstore, cluster-1's agent reads it through ClusterMesh, merges it into its own
 * nginx-deployment and lists it. Only the stores are in memory.
 */
describe("global service across two clusters (seed 002)", () => {
  test("remote backends arrive, take over on scale to 0, and leave when cluster-2 stops sharing or is disconnected", async (t) => {
    const cluster2Etcd = new MemoryStore();
    await publishClusterConfig(cluster2Etcd, CLUSTER_2);
    await publishCanaries(cluster2Etcd, CLUSTER_2);
    const exporter = new Syncer(cluster2Etcd.newClient());
    exporter.start();
    const exportFromCluster2 = async (annotations: Record<string, string>) => {
      const state: LocalServiceState = { service: nginxService(annotations), status: CLUSTER_2_STATUS, endpoints: endpoints(["172.26.0.31", "172.26.0.196"]) };
      applyExports(exporter, CLUSTER_2.name, desiredExports(CLUSTER_2, [state]).exports);
      await exporter.flushed();
    };

    const merger = new ServiceMerger({ localCluster: CLUSTER_1.name });
    const table = new ServiceTable(merger, { ids: new ServiceIdAllocator({ restore: [["default/nginx-deployment|ClusterIP|10.240.27.208:80/TCP", 16]] }) });
    const mesh = new ClusterMesh({
      local: validateClusterInfo(CLUSTER_1),
      connect: () => cluster2Etcd.newClient(),
      handlers: { services: merger.meshHandlers() },
      backoff: { initialMs: 50, maxMs: 300 },
    });
    t.after(async () => {
      await mesh.stop();
      await exporter.stop();
      await cluster2Etcd.close();
    });
    const clusterIpRow = () => formatServiceList(serviceModels(table.entries().filter((e) => e.id === 16)), { clustermeshAffinity: true });

    await exportFromCluster2(SEED_ANNOTATIONS);
    merger.upsertLocal(cluster1State());
    await mesh.setPeers([{ name: CLUSTER_2.name, endpoints: ["http://cluster-2.mesh.local:2379"] }]);
    await waitFor("cluster-2's backends in cluster-1's table", () => table.entries()[0]?.backends.length === 4);
    assert.equal(
      clusterIpRow(),
      `ID   Frontend           Service Type   Backend
16   10.240.27.208:80   ClusterIP      1 => 172.25.0.160:80 (active) (preferred)
                                       2 => 172.25.0.12:80 (active) (preferred)
                                       3 => 172.26.0.31:80 (active)
                                       4 => 172.26.0.196:80 (active)
`,
    );
    assert.deepEqual(table.specs()[0]!.backends.map((b) => b.active), [true, true, false, false], "only the local backends take new connections");

    merger.upsertLocal(cluster1State([]));
    assert.deepEqual(table.specs()[0]!.backends, [
      { ip: "172.26.0.31", port: 80, active: true },
      { ip: "172.26.0.196", port: 80, active: true },
    ]);

    await exportFromCluster2({ ...SEED_ANNOTATIONS, "io.cilium/shared-service": "false" });
    await waitFor("cluster-2's backends withdrawn", () => table.entries()[0]?.backends.length === 0);
    assert.equal(await cluster2Etcd.get("cilium/state/services/v1/cluster-2/default/nginx-deployment"), undefined, "cluster-2 exports nothing it does not share");

    await exportFromCluster2(SEED_ANNOTATIONS);
    await waitFor("cluster-2 shares again", () => table.entries()[0]?.backends.length === 2);
    await mesh.setPeers([]);
    assert.equal(table.entries()[0]!.backends.length, 0, "disconnecting cluster-2 takes its backends away");
    assert.equal(table.entries()[0]!.id, 16, "the frontend kept its ID throughout");
  });
});
