import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { validateClusterInfo } from "../cluster/index.js";
import { decodeClusterConfig, encodeClusterConfig } from "./cluster-config.js";
import { RecordError } from "./record-error.js";
import { CLUSTER_CONFIG, CLUSTER_CONFIG_CACHED_511 } from "./testdata/golden.js";
import { accepted, refused } from "./testdata/assert-result.js";

describe("cluster config", () => {
  test("golden values survive decode -> encode byte for byte", () => {
    for (const g of [CLUSTER_CONFIG, CLUSTER_CONFIG_CACHED_511]) assert.equal(encodeClusterConfig(accepted(decodeClusterConfig(g.key, Buffer.from(g.value)))), g.value);
  });

  test("decoded capabilities; absent ones are false or undefined", () => {
    assert.deepEqual(accepted(decodeClusterConfig(CLUSTER_CONFIG.key, CLUSTER_CONFIG.value)), {
      cluster: "c1",
      id: 1,
      capabilities: { syncedCanaries: true, cached: false, maxConnectedClusters: 255 },
    });
    assert.deepEqual(accepted(decodeClusterConfig("cilium/cluster-config/old", '{"id":4}')), { cluster: "old", id: 4, capabilities: { syncedCanaries: false, cached: false } });
  });

  test("Go's omitempty: false and zero capabilities are left out, capabilities always written", () => {
    assert.equal(encodeClusterConfig({ cluster: "c5", id: 5, capabilities: { syncedCanaries: false, cached: false } }), '{"id":5,"capabilities":{}}');
  });

  test("the ID must fit the mesh size the record announces", () => {
    refused(decodeClusterConfig("cilium/cluster-config/c1", '{"id":300,"capabilities":{"maxConnectedClusters":255}}'), "invalid-value", /maxConnectedClusters set to 511/);
    refused(decodeClusterConfig("cilium/cluster-config/c1", '{"id":300}'), "invalid-value");
    accepted(decodeClusterConfig("cilium/cluster-config/c1", '{"id":511,"capabilities":{"maxConnectedClusters":511}}'));
  });

  test("refusals, one reason each", () => {
    const { key } = CLUSTER_CONFIG;
    refused(decodeClusterConfig(key, "{'id':1}"), "malformed-json");
    refused(decodeClusterConfig(key, '{"capabilities":{"syncedCanaries":true}}'), "missing-field", /needs a non-zero cluster ID/);
    refused(decodeClusterConfig(key, '{"id":0}'), "missing-field");
    refused(decodeClusterConfig(key, '{"id":1,"capabilities":{"syncedCanaries":1}}'), "wrong-type", /capabilities\.syncedCanaries/);
    refused(decodeClusterConfig(key, '{"id":1,"capabilities":[]}'), "wrong-type");
    refused(decodeClusterConfig(key, '{"id":1,"capabilities":{"maxConnectedClusters":300}}'), "invalid-value", /255 or 511/);
    refused(decodeClusterConfig("cilium/cluster-config/C1", CLUSTER_CONFIG.value), "invalid-name");
    refused(decodeClusterConfig("cilium/cluster-config/c1/x", CLUSTER_CONFIG.value), "invalid-key");
    refused(decodeClusterConfig(key, CLUSTER_CONFIG.value, { cluster: validateClusterInfo({ name: "c2", id: 1 }) }), "cluster-mismatch");
    refused(decodeClusterConfig(key, CLUSTER_CONFIG.value, { cluster: validateClusterInfo({ name: "c1", id: 2 }) }), "cluster-mismatch", /whose ID is 2/);
    assert.throws(() => encodeClusterConfig({ cluster: "c1", id: 0, capabilities: { syncedCanaries: true, cached: false } }), (e: unknown) => e instanceof RecordError && e.reason === "missing-field");
  });
});
