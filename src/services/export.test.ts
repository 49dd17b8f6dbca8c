import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MemoryStore } from "../kvstore/index.js";
import { decodeClusterService } from "../state/index.js";
import { Syncer } from "../state/syncer.js";
import { applyExports, clusterServiceOf, desiredExports } from "./export.js";
import type { LocalServiceState } from "./local-service.js";
import { CLUSTER_1, CLUSTER_1_STATUS, cluster1State, endpoints, nginxService } from "./testing/seed-002.js";

const KEY = "cilium/state/services/v1/cluster-1/default/nginx-deployment";

describe("export of global services", () => {
  test("the seed's service is exported as Cilium's ClusterService, field for field", () => {
    const { exports, problems } = desiredExports(CLUSTER_1, [cluster1State()]);
    assert.deepEqual(problems, []);
    assert.deepEqual([...exports.keys()], [KEY]);
    assert.equal(
      exports.get(KEY),
      '{"cluster":"cluster-1","namespace":"default","name":"nginx-deployment",' +
        '"frontends":{"10.240.27.208":{"":{"Protocol":"TCP","Port":80}}},' +
        '"backends":{"172.25.0.12":{"":{"Protocol":"TCP","Port":80}},"172.25.0.160":{"":{"Protocol":"TCP","Port":80}}},' +
        '"labels":{"app":"nginx"},"selector":{"app":"nginx"},"includeExternal":true,"shared":true,"clusterID":1}',
    );
  });

  test("the export appears and disappears with the annotations, in both spellings", () => {
    const cases: [Record<string, string>, boolean][] = [
      [{}, false],
      [{ "service.cilium.io/global": "true" }, true],
      [{ "io.cilium/global-service": "true" }, true],
      [{ "service.cilium.io/global": "false" }, false],
      [{ "io.cilium/global-service": "false" }, false],
      [{ "service.cilium.io/global": "true", "service.cilium.io/shared": "false" }, false],
      [{ "io.cilium/global-service": "true", "io.cilium/shared-service": "false" }, false],
      [{ "service.cilium.io/global": "true", "io.cilium/shared-service": "true" }, true],
      [{ "service.cilium.io/shared": "true" }, false],
      [{ "io.cilium/shared-service": "true", "io.cilium/service-affinity": "local" }, false],
    ];
    for (const [annotations, exported] of cases) {
      const { exports, problems } = desiredExports(CLUSTER_1, [{ service: nginxService(annotations), status: CLUSTER_1_STATUS, endpoints: endpoints(["100.65.1.11"]) }]);
      assert.deepEqual(problems, []);
      assert.equal(exports.size, exported ? 1 : 0, JSON.stringify(annotations));
    }
  });

  test("backends: ready ones only, each port by name with protocol and target port", () => {
    const state: LocalServiceState = {
      service: nginxService({ "service.cilium.io/global": "true" }, {
        ports: [
          { name: "http", port: 80, targetPort: 8080 },
          { name: "dns", port: 53, protocol: "UDP", targetPort: 5353 },
        ],
      }),
      status: CLUSTER_1_STATUS,
      endpoints: {
        managedBy: "operator",
        backends: [
          { ip: "100.65.1.11", ready: true },
          { ip: "100.65.1.12", ready: false },
          { ip: "100.65.2.11", ready: false, terminating: true },
        ],
      },
    };
    const record = clusterServiceOf(CLUSTER_1, state)!;
    assert.deepEqual(record.frontends, { "10.240.27.208": { http: { protocol: "TCP", port: 80 }, dns: { protocol: "UDP", port: 53 } } });
    assert.deepEqual(record.backends, { "100.65.1.11": { http: { protocol: "TCP", port: 8080 }, dns: { protocol: "UDP", port: 5353 } } });
  });

  test("a service without a cluster IP yet is exported with its backends and no frontend", () => {
    const { exports } = desiredExports(CLUSTER_1, [{ service: nginxService(), endpoints: endpoints(["100.65.1.11"]) }]);
    const r = decodeClusterService(KEY, exports.get(KEY)!);
    assert.ok(r.ok);
    assert.deepEqual(r.record.frontends, {});
    assert.deepEqual(Object.keys(r.record.backends), ["100.65.1.11"]);
  });

  test("one service with a bad annotation is reported, naming it and the value; the others are exported", () => {
    const bad = nginxService();
    const broken: LocalServiceState = { service: { ...bad, metadata: { ...bad.metadata, name: "broken", annotations: { "io.cilium/global-service": "yes" } } } };
    const { exports, problems } = desiredExports(CLUSTER_1, [broken, cluster1State()]);
    assert.deepEqual([...exports.keys()], [KEY]);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.service, "default/broken");
    assert.match(problems[0]!.message, /io\.cilium\/global-service.*"true" or "false".*got "yes"/s);
  });
});

describe("applying exports with the state Syncer", () => {
  test("the export is written, rewritten on change, and deleted when the service stops being global or is deleted", async (t) => {
    const store = new MemoryStore();
    const syncer = new Syncer(store.newClient());
    t.after(async () => {
      await syncer.stop();
      await store.close();
    });
    syncer.upsert("cilium/state/nodes/v1/cluster-1/worker-1", "{}"); // owned by the same syncer, not an export
    syncer.start();

    const sync = async (states: LocalServiceState[]) => {
      const deleted = applyExports(syncer, CLUSTER_1.name, desiredExports(CLUSTER_1, states).exports);
      await syncer.flushed();
      return deleted;
    };
    const stored = async () => (await store.get(KEY))?.value.toString();

    assert.deepEqual(await sync([cluster1State()]), []);
    assert.match((await stored())!, /"172\.25\.0\.160"/);

    await sync([cluster1State(["172.25.0.12"])]);
    assert.doesNotMatch((await stored())!, /"172\.25\.0\.160"/, "the scaled-down export replaces the old one");

    assert.deepEqual(await sync([cluster1State([], { "io.cilium/global-service": "false" })]), [KEY]);
    assert.equal(await stored(), undefined);

    await sync([cluster1State()]);
    assert.ok(await stored());
    assert.deepEqual(await sync([]), [KEY], "deleting the service deletes its export");
    assert.equal(await stored(), undefined);
    assert.ok(await store.get("cilium/state/nodes/v1/cluster-1/worker-1"), "keys outside the cluster's service prefix are left alone");
  });
});
