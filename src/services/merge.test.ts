import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ClusterServiceRecord } from "../state/index.js";
import { ServiceMergeError, ServiceMerger } from "./merge.js";
import { CLUSTER_1, CLUSTER_1_STATUS, cluster1State, cluster2Record, endpoints, nginxService } from "./testing/seed-002.js";

/** "ip:port@cluster", with " local" for local ones, per backend of the service's first port. */
function backends(merger: ServiceMerger, name = "nginx-deployment"): string[] | undefined {
  return merger.backendsFor("default", name)?.[0]?.backends.map((b) => `${b.ip}:${b.port}@${b.cluster}${b.local ? " local" : ""}`);
}

function record(cluster: string, clusterId: number, overrides: Partial<ClusterServiceRecord> = {}): ClusterServiceRecord {
  return {
    cluster,
    clusterId,
    namespace: "default",
    name: "nginx-deployment",
    frontends: {},
    backends: {},
    hostnames: {},
    zones: {},
    labels: {},
    selector: {},
    includeExternal: true,
    shared: true,
    ...overrides,
  };
}

const SEED_FOUR = ["172.25.0.160:80@cluster-1 local", "172.25.0.12:80@cluster-1 local", "172.26.0.31:80@cluster-2", "172.26.0.196:80@cluster-2"];

describe("merging remote backends into local global services", () => {
  test("the seed: two local and two remote backends, locals first, remote ones in address order", () => {
    const merger = new ServiceMerger({ localCluster: CLUSTER_1.name });
    merger.upsertLocal(cluster1State());
    merger.upsertRemote("cluster-2", cluster2Record());
    assert.deepEqual(backends(merger), SEED_FOUR);
    const [b] = merger.backendsFor("default", "nginx-deployment")![0]!.backends;
    assert.deepEqual(b, { ip: "172.25.0.160", port: 80, protocol: "TCP", cluster: "cluster-1", local: true, terminating: false, node: "worker-1" });
  });

  test("remote records may arrive before the local service; they join it when it appears", () => {
    const merger = new ServiceMerger({ localCluster: CLUSTER_1.name });
    merger.upsertRemote("cluster-2", cluster2Record());
    assert.equal(merger.backendsFor("default", "nginx-deployment"), undefined, "no local service, nothing to merge into");
    merger.upsertLocal(cluster1State());
    assert.deepEqual(backends(merger), SEED_FOUR);
    merger.deleteLocal("default", "nginx-deployment");
    assert.equal(merger.backendsFor("default", "nginx-deployment"), undefined);
  });

  test("a peer whose record says shared=false contributes nothing, and withdraws what it gave before", () => {
    const merger = new ServiceMerger({ localCluster: CLUSTER_1.name });
    merger.upsertLocal(cluster1State());
    merger.upsertRemote("cluster-3", record("cluster-3", 3, { backends: { "100.67.1.11": { "": { protocol: "TCP", port: 80 } } }, shared: false }));
    assert.deepEqual(backends(merger), ["172.25.0.160:80@cluster-1 local", "172.25.0.12:80@cluster-1 local"]);

    merger.upsertRemote("cluster-2", cluster2Record());
    assert.equal(backends(merger)!.length, 4);
    merger.upsertRemote("cluster-2", { ...cluster2Record(), shared: false });
    assert.deepEqual(backends(merger), ["172.25.0.160:80@cluster-1 local", "172.25.0.12:80@cluster-1 local"]);
    assert.deepEqual(merger.peersOf("default/nginx-deployment"), []);
  });

  test("a local service that is not global gets no remote backends, and gets them once it is global", () => {
    const merger = new ServiceMerger({ localCluster: CLUSTER_1.name });
    merger.upsertRemote("cluster-2", cluster2Record());
    merger.upsertLocal(cluster1State(undefined, {}));
    assert.deepEqual(backends(merger), ["172.25.0.160:80@cluster-1 local", "172.25.0.12:80@cluster-1 local"]);
    merger.upsertLocal(cluster1State(undefined, { "service.cilium.io/global": "false", "service.cilium.io/affinity": "local" }));
    assert.equal(backends(merger)!.length, 2);
    merger.upsertLocal(cluster1State(undefined, { "service.cilium.io/global": "true" }));
    assert.deepEqual(backends(merger), SEED_FOUR);
  });

  test("a local global service that does not share still takes other clusters' backends", () => {
    const merger = new ServiceMerger({ localCluster: CLUSTER_1.name });
    merger.upsertLocal(cluster1State(undefined, { "service.cilium.io/global": "true", "service.cilium.io/shared": "false" }));
    merger.upsertRemote("cluster-2", cluster2Record());
    assert.deepEqual(backends(merger), SEED_FOUR);
  });

  test("only the service of the same namespace and name receives a record", () => {
    const merger = new ServiceMerger({ localCluster: CLUSTER_1.name });
    merger.upsertLocal(cluster1State());
    merger.upsertRemote("cluster-2", { ...cluster2Record(), namespace: "shop" });
    merger.upsertRemote("cluster-2", { ...cluster2Record(), name: "nginx" });
    assert.equal(backends(merger)!.length, 2);
  });

  test("ports are matched by name and protocol; a remote backend keeps its own target port", () => {
    const merger = new ServiceMerger({ localCluster: CLUSTER_1.name });
    const service = nginxService({ "service.cilium.io/global": "true" }, {
      ports: [
        { name: "http", port: 80, targetPort: 8080 },
        { name: "dns", port: 53, protocol: "UDP", targetPort: 53 },
      ],
    });
    merger.upsertLocal({ service, status: CLUSTER_1_STATUS, endpoints: endpoints(["100.65.1.11"]) });
    merger.upsertRemote(
      "cluster-2",
      record("cluster-2", 2, {
        backends: {
          "100.66.1.11": { http: { protocol: "TCP", port: 9090 }, dns: { protocol: "UDP", port: 5353 } },
          "100.66.1.12": { http: { protocol: "UDP", port: 8080 } },
          "100.66.1.13": { metrics: { protocol: "TCP", port: 9100 } },
        },
      }),
    );
    const [http, dns] = merger.backendsFor("default", "nginx-deployment")!;
    assert.deepEqual(http!.backends.map((b) => `${b.ip}:${b.port}/${b.protocol}`), ["100.65.1.11:8080/TCP", "100.66.1.11:9090/TCP"]);
    assert.deepEqual(dns!.backends.map((b) => `${b.ip}:${b.port}/${b.protocol}`), ["100.65.1.11:53/UDP", "100.66.1.11:5353/UDP"]);
  });

  test("an address already in the list is not added again: local first, then peers by name", () => {
    const merger = new ServiceMerger({ localCluster: CLUSTER_1.name });
    merger.upsertLocal(cluster1State(["100.65.1.11"]));
    const port = { "": { protocol: "TCP" as const, port: 80 } };
    merger.upsertRemote("cluster-3", record("cluster-3", 3, { backends: { "100.65.1.11": port, "100.99.0.1": port } }));
    merger.upsertRemote("cluster-2", record("cluster-2", 2, { backends: { "100.99.0.1": port } }));
    assert.deepEqual(backends(merger), ["100.65.1.11:80@cluster-1 local", "100.99.0.1:80@cluster-2"]);
  });

  test("terminating local backends are kept (marked); backends neither ready nor terminating are left out", () => {
    const merger = new ServiceMerger({ localCluster: CLUSTER_1.name });
    merger.upsertLocal({
      service: nginxService(),
      status: CLUSTER_1_STATUS,
      endpoints: { backends: [{ ip: "100.65.1.11", ready: true }, { ip: "100.65.1.12", ready: false, terminating: true }, { ip: "100.65.1.13", ready: false }] },
    });
    const list = merger.backendsFor("default", "nginx-deployment")![0]!.backends;
    assert.deepEqual(list.map((b) => [b.ip, b.terminating]), [["100.65.1.11", false], ["100.65.1.12", true]]);
  });

  test("deleteRemote and dropPeer take a peer's backends away", () => {
    const merger = new ServiceMerger({ localCluster: CLUSTER_1.name });
    merger.upsertLocal(cluster1State());
    merger.upsertRemote("cluster-2", cluster2Record());
    merger.upsertRemote("cluster-3", record("cluster-3", 3, { backends: { "100.67.1.11": { "": { protocol: "TCP", port: 80 } } } }));
    assert.equal(backends(merger)!.length, 5);
    merger.dropPeer("cluster-2");
    assert.deepEqual(backends(merger), ["172.25.0.160:80@cluster-1 local", "172.25.0.12:80@cluster-1 local", "100.67.1.11:80@cluster-3"]);
    merger.deleteRemote("cluster-3", { namespace: "default", name: "nginx-deployment" });
    assert.equal(backends(merger)!.length, 2);
    merger.dropPeer("cluster-9"); // unknown peer: nothing to do
  });

  test("versions change with every input that matters, and results are reused while they do not", () => {
    const changed: string[] = [];
    const merger = new ServiceMerger({ localCluster: CLUSTER_1.name, onChange: (refs) => changed.push(...refs) });
    merger.upsertLocal(cluster1State());
    const v1 = merger.versionOf("default/nginx-deployment")!;
    const first = merger.service("default/nginx-deployment")!;
    assert.equal(merger.service("default/nginx-deployment"), first, "same version, same object");
    merger.upsertRemote("cluster-2", cluster2Record());
    const v2 = merger.versionOf("default/nginx-deployment")!;
    assert.ok(v2 > v1);
    assert.notEqual(merger.service("default/nginx-deployment"), first);
    merger.dropPeer("cluster-2");
    assert.ok(merger.versionOf("default/nginx-deployment")! > v2);
    assert.deepEqual(changed, ["default/nginx-deployment", "default/nginx-deployment", "default/nginx-deployment"]);
    assert.equal(merger.versionOf("default/other"), undefined);
  });

  test("records that cannot be the peer's are refused with the names involved", () => {
    const merger = new ServiceMerger({ localCluster: CLUSTER_1.name });
    assert.throws(() => merger.upsertRemote("cluster-1", record("cluster-1", 1)), (e: unknown) => e instanceof ServiceMergeError && /cluster "cluster-1", which is the local cluster's own name/.test(e.message));
    assert.throws(() => merger.upsertRemote("cluster-2", record("cluster-3", 3)), (e: unknown) => e instanceof ServiceMergeError && /says cluster "cluster-3" but came from cluster "cluster-2"/.test(e.message));
  });

  test("a local service with a bad annotation is refused and the previous one kept", () => {
    const merger = new ServiceMerger({ localCluster: CLUSTER_1.name });
    merger.upsertLocal(cluster1State());
    const v = merger.versionOf("default/nginx-deployment");
    assert.throws(() => merger.upsertLocal(cluster1State(undefined, { "service.cilium.io/affinity": "nearest" })), /service\.cilium\.io\/affinity.*local, remote, none.*got "nearest"/s);
    assert.equal(merger.versionOf("default/nginx-deployment"), v);
  });

  test("meshHandlers take ClusterMesh's services events", () => {
    const merger = new ServiceMerger({ localCluster: CLUSTER_1.name });
    merger.upsertLocal(cluster1State());
    const h = merger.meshHandlers();
    h.upsert("cluster-2", cluster2Record());
    assert.equal(backends(merger)!.length, 4);
    h.delete("cluster-2", cluster2Record());
    assert.equal(backends(merger)!.length, 2);
  });
});
