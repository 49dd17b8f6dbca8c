import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { serviceIssues } from "../datapath/services.js";
import type { ServiceSpec } from "../datapath/types.js";
import { ServiceMerger } from "./merge.js";
import { ServiceIdAllocator } from "./service-ids.js";
import { ServiceTable, type ServiceTableEntry } from "./service-table.js";
import { CLUSTER_1, CLUSTER_1_STATUS, cluster1State, cluster2Record, endpoints, nginxService } from "./testing/seed-002.js";

/** "id frontend type: ip:port(state,A|-,P|-) ..." per frontend: what `service list` shows, and what the datapath uses. */
function show(entries: readonly ServiceTableEntry[]): string[] {
  return entries.map(
    (e) =>
      `${e.id} ${e.frontend.ip}:${e.frontend.port} ${e.frontend.type}: ` +
      e.backends.map((b) => `${b.ip}(${b.state},${b.active ? "A" : "-"}${b.preferred ? "P" : "-"})`).join(" "),
  );
}

function seedTable(annotations?: Record<string, string>): { merger: ServiceMerger; table: ServiceTable } {
  const merger = new ServiceMerger({ localCluster: CLUSTER_1.name });
  merger.upsertLocal(cluster1State(undefined, annotations));
  merger.upsertRemote("cluster-2", cluster2Record());
  return { merger, table: new ServiceTable(merger, { ids: new ServiceIdAllocator({ restore: [] }) }) };
}

const LOCAL_AFFINITY = "172.25.0.160(active,AP) 172.25.0.12(active,AP) 172.26.0.31(active,--) 172.26.0.196(active,--)";

describe("service table: seed 002", () => {
  test("affinity local: 4 backends on every frontend, the 2 local ones preferred and the only active ones", () => {
    const { table } = seedTable();
    assert.deepEqual(show(table.entries()), [
      `1 10.240.27.208:80 ClusterIP: ${LOCAL_AFFINITY}`,
      `2 0.0.0.0:31380 NodePort: ${LOCAL_AFFINITY}`,
      `3 198.19.1.100:80 LoadBalancer: ${LOCAL_AFFINITY}`,
    ]);
  });

  test("scale cluster-1 to 0: the 2 remote backends become active; the frontends keep their IDs", () => {
    const { merger, table } = seedTable();
    const before = table.entries().map((e) => e.id);
    merger.upsertLocal(cluster1State([]));
    const after = table.entries();
    assert.deepEqual(after.map((e) => e.id), before);
    assert.deepEqual(show(after)[0], "1 10.240.27.208:80 ClusterIP: 172.26.0.31(active,A-) 172.26.0.196(active,A-)");
    merger.upsertLocal(cluster1State());
    assert.deepEqual(show(table.entries())[0], `1 10.240.27.208:80 ClusterIP: ${LOCAL_AFFINITY}`, "scaling back up moves traffic home");
  });

  test("affinity remote is the mirror image, and fails over to the local backends when the remote ones go", () => {
    const { merger, table } = seedTable({ "service.cilium.io/global": "true", "service.cilium.io/affinity": "remote" });
    assert.equal(show(table.entries())[0], "1 10.240.27.208:80 ClusterIP: 172.25.0.160(active,--) 172.25.0.12(active,--) 172.26.0.31(active,AP) 172.26.0.196(active,AP)");
    merger.dropPeer("cluster-2");
    assert.equal(show(table.entries())[0], "1 10.240.27.208:80 ClusterIP: 172.25.0.160(active,A-) 172.25.0.12(active,A-)");
  });

  test("affinity none (no annotation): all four active, none preferred", () => {
    const { table } = seedTable({ "io.cilium/global-service": "true" });
    assert.equal(show(table.entries())[0], "1 10.240.27.208:80 ClusterIP: 172.25.0.160(active,A-) 172.25.0.12(active,A-) 172.26.0.31(active,A-) 172.26.0.196(active,A-)");
  });

  test("a service that is not global: its own backends only, and its affinity annotation means nothing", () => {
    const { table } = seedTable({ "io.cilium/service-affinity": "local" });
    assert.equal(show(table.entries())[0], "1 10.240.27.208:80 ClusterIP: 172.25.0.160(active,A-) 172.25.0.12(active,A-)");
    assert.equal(table.entries()[0]!.affinity, "none");
  });

  test("local pods terminating: listed as terminating and inactive, the remote ones take new connections", () => {
    const { merger, table } = seedTable();
    merger.upsertLocal({ service: nginxService(), status: CLUSTER_1_STATUS, endpoints: endpoints(["172.25.0.160", "172.25.0.12"], { ready: false, terminating: true }) });
    assert.equal(show(table.entries())[0], "1 10.240.27.208:80 ClusterIP: 172.25.0.160(terminating,-P) 172.25.0.12(terminating,-P) 172.26.0.31(active,A-) 172.26.0.196(active,A-)");
  });
});

describe("service table: frontends and IDs", () => {
  test("a service is listed once it has a cluster IP; a ClusterIP service has no node port or load-balancer frontend", () => {
    const merger = new ServiceMerger({ localCluster: CLUSTER_1.name });
    const table = new ServiceTable(merger);
    const service = nginxService({}, { type: "ClusterIP" });
    merger.upsertLocal({ service, endpoints: endpoints(["100.65.1.11"]) });
    assert.deepEqual(table.entries(), []);
    assert.deepEqual(table.specs(), []);
    merger.upsertLocal({ service, status: CLUSTER_1_STATUS, endpoints: endpoints(["100.65.1.11"]) });
    assert.deepEqual(show(table.entries()), ["1 10.240.27.208:80 ClusterIP: 100.65.1.11(active,A-)"]);
  });

  test("IDs stay with their frontend while the service exists; a deleted service's IDs are not reused by the next one", () => {
    const merger = new ServiceMerger({ localCluster: CLUSTER_1.name });
    const table = new ServiceTable(merger);
    const web = (name: string, clusterIP: string) => ({
      service: { ...nginxService({}, { type: "ClusterIP" }), metadata: { ...nginxService().metadata, name, annotations: {} } },
      status: { clusterIP, nodePorts: {}, loadBalancerIPs: [] },
    });
    merger.upsertLocal(web("a", "198.19.1.10"));
    merger.upsertLocal(web("b", "198.19.1.11"));
    assert.deepEqual(table.entries().map((e) => `${e.id} ${e.name}`), ["1 a", "2 b"]);
    merger.deleteLocal("default", "a");
    merger.upsertLocal(web("c", "198.19.1.10"));
    assert.deepEqual(table.entries().map((e) => `${e.id} ${e.name}`), ["2 b", "3 c"]);
    merger.upsertLocal({ ...web("b", "198.19.1.11"), endpoints: endpoints(["100.65.1.11"]) });
    assert.deepEqual(table.entries().map((e) => `${e.id} ${e.name}`), ["2 b", "3 c"], "a backend change keeps the ID");
    assert.deepEqual(table.ids.entries().map(([, id]) => id), [2, 3], "the gone service's ID was released");
  });

  test("several ports: a frontend per port and type, ClusterIPs first, then node ports, then load-balancer IPs", () => {
    const merger = new ServiceMerger({ localCluster: CLUSTER_1.name });
    const table = new ServiceTable(merger);
    const service = nginxService({}, { ports: [{ name: "http", port: 80, targetPort: 8080 }, { name: "https", port: 443, targetPort: 8443 }] });
    merger.upsertLocal({ service, status: { clusterIP: "198.19.1.10", nodePorts: { "80": 30080, "443": 30443 }, loadBalancerIPs: ["198.19.1.100"] }, endpoints: endpoints(["100.65.1.11"]) });
    assert.deepEqual(
      table.entries().map((e) => `${e.id} ${e.frontend.type} ${e.frontend.ip}:${e.frontend.port} ${e.portName} -> ${e.backends.map((b) => `${b.ip}:${b.port}`).join(",")}`),
      [
        "1 ClusterIP 198.19.1.10:80 http -> 100.65.1.11:8080",
        "2 ClusterIP 198.19.1.10:443 https -> 100.65.1.11:8443",
        "3 NodePort 0.0.0.0:30080 http -> 100.65.1.11:8080",
        "4 NodePort 0.0.0.0:30443 https -> 100.65.1.11:8443",
        "5 LoadBalancer 198.19.1.100:80 http -> 100.65.1.11:8080",
        "6 LoadBalancer 198.19.1.100:443 https -> 100.65.1.11:8443",
      ],
    );
  });
});

describe("service table: datapath specs", () => {
  test("one spec per service port with all its frontends, backends flagged active; the datapath accepts them", () => {
    const { merger, table } = seedTable();
    const specs: readonly ServiceSpec[] = table.specs(); // the datapath's own type: the shapes must stay assignable
    assert.deepEqual(specs, [
      {
        id: "default/nginx-deployment:80/tcp",
        protocol: "tcp",
        port: 80,
        clusterIP: "10.240.27.208",
        nodePort: 31380,
        loadBalancerIPs: ["198.19.1.100"],
        backends: [
          { ip: "172.25.0.160", port: 80, active: true },
          { ip: "172.25.0.12", port: 80, active: true },
          { ip: "172.26.0.31", port: 80, active: false },
          { ip: "172.26.0.196", port: 80, active: false },
        ],
      },
    ]);
    assert.deepEqual(serviceIssues(specs), []);
    merger.upsertLocal(cluster1State([]));
    assert.deepEqual(table.specs()[0]!.backends, [
      { ip: "172.26.0.31", port: 80, active: true },
      { ip: "172.26.0.196", port: 80, active: true },
    ]);
  });

  test("an unchanged service yields the very same spec objects; a changed one new ones", () => {
    const { merger, table } = seedTable();
    merger.upsertLocal({ service: { ...nginxService({}, { type: "ClusterIP" }), metadata: { ...nginxService().metadata, name: "other", annotations: {} } }, status: { clusterIP: "198.19.1.10", nodePorts: {}, loadBalancerIPs: [] } });
    const [nginx1, other1] = table.specs();
    merger.upsertRemote("cluster-2", cluster2Record(["172.26.0.31"]));
    const [nginx2, other2] = table.specs();
    assert.equal(other2, other1);
    assert.notEqual(nginx2, nginx1);
    assert.equal(nginx2!.backends.length, 3);
  });
});
