import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { validateClusterInfo } from "../cluster/index.js";
import { clusterServiceKey, decodeClusterService, encodeClusterService } from "./cluster-service.js";
import { RecordError } from "./record-error.js";
import { CLUSTER_SERVICE, CLUSTER_SERVICE_MINIMAL } from "./testdata/golden.js";
import { accepted, edit, refused } from "./testdata/assert-result.js";

const c1 = validateClusterInfo({ name: "c1", id: 1 });

describe("cluster services", () => {
  test("golden values survive decode -> encode byte for byte", () => {
    for (const g of [CLUSTER_SERVICE, CLUSTER_SERVICE_MINIMAL]) assert.equal(encodeClusterService(accepted(decodeClusterService(g.key, Buffer.from(g.value)))), g.value, g.key);
  });

  test("decoded fields: address -> port name -> {protocol, port}", () => {
    const s = accepted(decodeClusterService(CLUSTER_SERVICE.key, CLUSTER_SERVICE.value, { cluster: c1 }));
    assert.deepEqual(s.frontends, { "198.19.1.10": { http: { protocol: "TCP", port: 80 }, https: { protocol: "TCP", port: 443 } } });
    assert.deepEqual(Object.keys(s.backends), ["100.65.1.7", "100.65.2.9"]);
    assert.deepEqual(s.backends["100.65.2.9"]!.http, { protocol: "TCP", port: 8080 });
    assert.equal(s.hostnames["100.65.1.7"], "web-0");
    assert.deepEqual(s.zones["100.65.1.7"], { zone: "lab-a", forZones: ["lab-a"] });
    assert.equal(s.includeExternal, true);
    assert.equal(s.shared, true);
    assert.equal(s.clusterId, 1);
    const dns = accepted(decodeClusterService(CLUSTER_SERVICE_MINIMAL.key, CLUSTER_SERVICE_MINIMAL.value));
    assert.deepEqual(dns.frontends["198.19.2.53"], { "": { protocol: "UDP", port: 53 } });
    assert.deepEqual(dns.hostnames, {});
  });

  test("lower-case port fields, as Cilium's own tests write them, decode", () => {
    const v = edit(CLUSTER_SERVICE_MINIMAL.value, '{"Protocol":"UDP","Port":53}', '{"protocol":"UDP","port":53}');
    assert.deepEqual(accepted(decodeClusterService(CLUSTER_SERVICE_MINIMAL.key, v)).frontends["198.19.2.53"], { "": { protocol: "UDP", port: 53 } });
  });

  test("encode writes maps sorted and empty maps as {}", () => {
    const json = encodeClusterService({
      cluster: "c3",
      namespace: "shop",
      name: "cart",
      clusterId: 3,
      backends: { "100.67.2.4": { b: { protocol: "TCP", port: 2 }, a: { protocol: "TCP", port: 1 } }, "100.67.1.4": {} },
      shared: true,
    });
    assert.equal(
      json,
      '{"cluster":"c3","namespace":"shop","name":"cart","frontends":{},"backends":{"100.67.1.4":{},"100.67.2.4":{"a":{"Protocol":"TCP","Port":1},"b":{"Protocol":"TCP","Port":2}}},' +
        '"labels":{},"selector":{},"includeExternal":false,"shared":true,"clusterID":3}',
    );
    assert.equal(clusterServiceKey({ cluster: "c3", namespace: "shop", name: "cart" }), "cilium/state/services/v1/c3/shop/cart");
    assert.throws(() => encodeClusterService({ cluster: "c3", namespace: "shop", name: "cart", clusterId: 3, frontends: { vip: {} } }), (e: unknown) => e instanceof RecordError && e.reason === "invalid-ip");
    assert.throws(() => encodeClusterService({ cluster: "c3", namespace: "Shop", name: "cart", clusterId: 3 }), (e: unknown) => e instanceof RecordError && e.reason === "invalid-name");
  });
});

describe("cluster services refused, one reason each", () => {
  const { key, value } = CLUSTER_SERVICE;

  test("malformed-json", () => {
    refused(decodeClusterService(key, value + "}"), "malformed-json");
  });

  test("wrong-type", () => {
    refused(decodeClusterService(key, edit(value, '"shared":true', '"shared":"yes"')), "wrong-type", /field "shared" must be true or false/);
    refused(decodeClusterService(key, edit(value, '"Port":80', '"Port":65536')), "wrong-type", /frontends\.198\.19\.1\.10\.http\.Port/);
    refused(decodeClusterService(key, edit(value, '"frontends":{', '"frontends":{"198.19.1.11":[],')), "wrong-type");
  });

  test("missing-field", () => {
    refused(decodeClusterService(key, edit(value, '"namespace":"default",', "")), "missing-field", /field "namespace" is missing/);
    refused(decodeClusterService(key, edit(value, '"Protocol":"TCP",', "")), "missing-field", /Protocol/);
  });

  test("invalid-ip", () => {
    refused(decodeClusterService(key, edit(value, '"100.65.2.9"', '"web-1"')), "invalid-ip", /"web-1", which is not an IP address/);
  });

  test("invalid-name", () => {
    refused(decodeClusterService("cilium/state/services/v1/c1/default/Web", edit(value, '"name":"web"', '"name":"Web"')), "invalid-name", /DNS-1035/);
    refused(decodeClusterService("cilium/state/services/v1/c1/de_fault/web", edit(value, '"namespace":"default"', '"namespace":"de_fault"')), "invalid-name");
  });

  test("key-mismatch", () => {
    refused(decodeClusterService("cilium/state/services/v1/c1/default/api", value), "key-mismatch", /"c1\/default\/web", but its key names "c1\/default\/api"/);
    refused(decodeClusterService("cilium/state/services/v1/c1/prod/web", value), "key-mismatch");
  });

  test("cluster-mismatch", () => {
    refused(decodeClusterService(key, value, { cluster: validateClusterInfo({ name: "c1", id: 9 }) }), "cluster-mismatch", /clusterID/);
    refused(decodeClusterService("cilium/cache/services/v1/c1/default/web", value, { cluster: validateClusterInfo({ name: "c2", id: 2 }) }), "cluster-mismatch");
  });

  test("invalid-value and invalid-key", () => {
    refused(decodeClusterService(key, edit(value, '"Protocol":"TCP"', '"Protocol":"HTTP"')), "invalid-value", /TCP, UDP, SCTP, ANY, NONE/);
    refused(decodeClusterService(key, edit(value, '"clusterID":1', '"clusterID":512')), "invalid-value");
    refused(decodeClusterService("cilium/state/services/v1/c1/web", value), "invalid-key");
  });
});
