import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Service } from "../resources/service.js";
import { ServiceMerger } from "./merge.js";
import { ServiceIdAllocator } from "./service-ids.js";
import { formatServiceList, formatServiceListJson, serviceModels, type ServiceModel } from "./service-list-format.js";
import { ServiceTable } from "./service-table.js";
import { CLUSTER_1, cluster1State, cluster2Record, endpoints, nginxService } from "./testing/seed-002.js";

/** The seed's two listings, verbatim. */
const SEED_BEFORE = `ID   Frontend                Service Type   Backend
16   10.240.27.208:80        ClusterIP      1 => 172.25.0.160:80 (active) (preferred)
                                            2 => 172.25.0.12:80 (active) (preferred)
                                            3 => 172.26.0.31:80 (active)
                                            4 => 172.26.0.196:80 (active)
`;
const SEED_AFTER_SCALE_TO_0 = `ID   Frontend                Service Type   Backend
16   10.240.27.208:80        ClusterIP      1 => 172.26.0.31:80 (active)
                                            2 => 172.26.0.196:80 (active)
`;

const NGINX_CLUSTER_IP = "default/nginx-deployment|ClusterIP|10.240.27.208:80/TCP";

function named(name: string, namespace: string, base: Service): Service {
  return { ...base, metadata: { ...base.metadata, name, namespace, annotations: {} } };
}

/**
 * Cluster-1's table in the seed: nginx-deployment's ClusterIP frontend has ID 16, as in the seed.
 * The seed cut its listing from a longer one, whose widest frontend was 21 characters (the Frontend
 * column is 24 wide); a service with such a frontend is listed first so the columns match.
 */
function seedCluster1(): { merger: ServiceMerger; table: ServiceTable } {
  const merger = new ServiceMerger({ localCluster: CLUSTER_1.name });
  merger.upsertLocal({
    service: named("metrics", "kube-system", nginxService({}, { type: "ClusterIP", ports: [{ port: 10250 }] })),
    status: { clusterIP: "192.168.100.200", nodePorts: {}, loadBalancerIPs: [] },
  });
  merger.upsertLocal(cluster1State());
  merger.upsertRemote("cluster-2", cluster2Record());
  const ids = new ServiceIdAllocator({ restore: [["kube-system/metrics|ClusterIP|192.168.100.200:10250/TCP", 1], [NGINX_CLUSTER_IP, 16]] });
  return { merger, table: new ServiceTable(merger, { ids }) };
}

/** The header and the rows of frontend `id` (its first line and its continuation lines). */
function rowsOf(text: string, id: number): string {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l.startsWith(`${id} `));
  assert.ok(start > 0, `no row for ID ${id} in:\n${text}`);
  let end = start + 1;
  while (end < lines.length && lines[end]!.startsWith(" ")) end++;
  return [lines[0], ...lines.slice(start, end)].join("\n") + "\n";
}

describe("trellis service list", () => {
  test("--clustermesh-affinity reproduces the seed's listing, line for line", () => {
    const { table } = seedCluster1();
    assert.equal(rowsOf(formatServiceList(serviceModels(table.entries()), { clustermeshAffinity: true }), 16), SEED_BEFORE);
  });

  test("after scaling cluster-1 to 0, the seed's second listing", () => {
    const { merger, table } = seedCluster1();
    merger.upsertLocal(cluster1State([]));
    assert.equal(rowsOf(formatServiceList(serviceModels(table.entries()), { clustermeshAffinity: true }), 16), SEED_AFTER_SCALE_TO_0);
  });

  test("the whole listing, golden: columns sized by the widest cell plus 3; (preferred) only with --clustermesh-affinity", () => {
    const merger = new ServiceMerger({ localCluster: CLUSTER_1.name });
    merger.upsertLocal(cluster1State());
    merger.upsertRemote("cluster-2", cluster2Record());
    const table = new ServiceTable(merger);
    const models = serviceModels(table.entries());
    assert.equal(
      formatServiceList(models, { clustermeshAffinity: true }),
      `ID   Frontend           Service Type   Backend
1    10.240.27.208:80   ClusterIP      1 => 172.25.0.160:80 (active) (preferred)
                                       2 => 172.25.0.12:80 (active) (preferred)
                                       3 => 172.26.0.31:80 (active)
                                       4 => 172.26.0.196:80 (active)
2    0.0.0.0:31380      NodePort       1 => 172.25.0.160:80 (active) (preferred)
                                       2 => 172.25.0.12:80 (active) (preferred)
                                       3 => 172.26.0.31:80 (active)
                                       4 => 172.26.0.196:80 (active)
3    198.19.1.100:80    LoadBalancer   1 => 172.25.0.160:80 (active) (preferred)
                                       2 => 172.25.0.12:80 (active) (preferred)
                                       3 => 172.26.0.31:80 (active)
                                       4 => 172.26.0.196:80 (active)
`,
    );
    assert.doesNotMatch(formatServiceList(models), /preferred/);
    assert.equal(formatServiceList(models).split("\n")[1], "1    10.240.27.208:80   ClusterIP      1 => 172.25.0.160:80 (active)");
  });

  test("terminating backends and a service without backends, golden", () => {
    const merger = new ServiceMerger({ localCluster: CLUSTER_1.name });
    merger.upsertLocal({
      service: named("web", "shop", nginxService({}, { type: "ClusterIP", ports: [{ port: 8080, targetPort: 80 }] })),
      status: { clusterIP: "198.19.1.20", nodePorts: {}, loadBalancerIPs: [] },
      endpoints: { backends: [{ ip: "100.65.1.11", ready: true }, { ip: "100.65.2.11", ready: false, terminating: true }] },
    });
    merger.upsertLocal({
      service: named("empty", "shop", nginxService({}, { type: "NodePort", ports: [{ port: 53, protocol: "UDP" }] })),
      status: { clusterIP: "198.19.1.21", nodePorts: { "53": 30053 }, loadBalancerIPs: [] },
      endpoints: endpoints([]),
    });
    const text = formatServiceList(serviceModels(new ServiceTable(merger).entries()), { clustermeshAffinity: true });
    assert.equal(
      text,
      `ID   Frontend           Service Type   Backend
1    198.19.1.21:53     ClusterIP
2    0.0.0.0:30053      NodePort
3    198.19.1.20:8080   ClusterIP      1 => 100.65.1.11:80 (active)
                                       2 => 100.65.2.11:80 (terminating)
`,
    );
  });

  test("no services: the header alone", () => {
    assert.equal(formatServiceList([]), "ID   Frontend   Service Type   Backend\n");
  });
});

describe("trellis service list -o json", () => {
  test("Cilium's GET /service models: spec and status.realized, frontend-address, backend-addresses, flags", () => {
    const { table } = seedCluster1();
    const models = serviceModels(table.entries());
    assert.deepEqual(models.map((m) => m.spec.id), [1, 16, 17, 18]);
    const nginx = models[1]!;
    assert.deepEqual(nginx.spec, {
      "backend-addresses": [
        { ip: "172.25.0.160", nodeName: "worker-1", port: 80, preferred: true, protocol: "TCP", state: "active" },
        { ip: "172.25.0.12", nodeName: "worker-2", port: 80, preferred: true, protocol: "TCP", state: "active" },
        { ip: "172.26.0.31", port: 80, protocol: "TCP", state: "active" },
        { ip: "172.26.0.196", port: 80, protocol: "TCP", state: "active" },
      ],
      flags: { name: "nginx-deployment", namespace: "default", type: "ClusterIP" },
      "frontend-address": { ip: "10.240.27.208", port: 80, protocol: "TCP", scope: "external" },
      id: 16,
    });
    assert.deepEqual(nginx.status.realized, nginx.spec);
  });

  test("the JSON, read back by the CLI, prints the same table", () => {
    const { table } = seedCluster1();
    const models = serviceModels(table.entries());
    const json = formatServiceListJson(models);
    assert.match(json, /^\[\n {2}\{\n {4}"spec": \{\n {6}"backend-addresses": \[/);
    const back = JSON.parse(json) as ServiceModel[];
    assert.equal(formatServiceList(back, { clustermeshAffinity: true }), formatServiceList(models, { clustermeshAffinity: true }));
  });

  test("an IPv6 address is bracketed, as Go joins host and port", () => {
    const model: ServiceModel = {
      spec: { "backend-addresses": [], flags: { name: "v6", namespace: "default", type: "ClusterIP" }, "frontend-address": { ip: "fd00::10", port: 80, protocol: "TCP", scope: "external" }, id: 7 },
      status: {
        realized: {
          "backend-addresses": [{ ip: "fd00::1:2", port: 8080, protocol: "TCP", state: "active" }],
          flags: { name: "v6", namespace: "default", type: "ClusterIP" },
          "frontend-address": { ip: "fd00::10", port: 80, protocol: "TCP", scope: "external" },
          id: 7,
        },
      },
    };
    assert.equal(formatServiceList([model]), "ID   Frontend        Service Type   Backend\n7    [fd00::10]:80   ClusterIP      1 => [fd00::1:2]:8080 (active)\n");
  });
});
