import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ClusterConfigError, checkClusterInfo, validateClusterInfo } from "./cluster-info.js";

describe("validateClusterInfo", () => {
  test("returns the info, defaulting maxConnectedClusters to 255", () => {
    assert.deepEqual(validateClusterInfo({ name: "c1", id: 1 }), { name: "c1", id: 1, maxConnectedClusters: 255 });
    assert.deepEqual(validateClusterInfo({ name: "c9", id: 400, maxConnectedClusters: 511 }), { name: "c9", id: 400, maxConnectedClusters: 511 });
  });

  test("names the rule and the value given", () => {
    assert.throws(
      () => validateClusterInfo({ name: "Cluster_1", id: 1 }),
      (e: unknown) => {
        assert.ok(e instanceof ClusterConfigError);
        assert.equal(e.problems.length, 1);
        assert.equal(e.problems[0]!.field, "name");
        assert.equal(e.problems[0]!.value, "Cluster_1");
        assert.match(e.message, /^cluster name "Cluster_1" is invalid: it must .* \(got "Cluster_1"\)$/);
        return true;
      },
    );
  });

  test("lists every rule broken, not just the first", () => {
    const result = checkClusterInfo({ name: "BAD", id: 0, maxConnectedClusters: 300 });
    assert.ok(result instanceof ClusterConfigError);
    assert.deepEqual(result.problems.map((p) => p.field).sort(), ["id", "maxConnectedClusters", "name"]);
    assert.match(result.message, /^invalid cluster configuration:\n {2}- /);
    assert.match(result.message, /maxConnectedClusters 300 is invalid: it must be 255 or 511/);
    assert.match(result.message, /cluster ID 0 is invalid/);
  });

  test("'default' is only for a cluster without an ID", () => {
    const err = checkClusterInfo({ name: "default", id: 3 });
    assert.ok(err instanceof ClusterConfigError);
    assert.match(err.message, /"default" is reserved for a cluster without an ID/);
    assert.deepEqual(validateClusterInfo({ name: "default", id: 0 }, { allowUnsetId: true }), { name: "default", id: 0, maxConnectedClusters: 255 });
  });

  test("an ID of 256..511 needs maxConnectedClusters=511", () => {
    const err = checkClusterInfo({ name: "c1", id: 256 });
    assert.ok(err instanceof ClusterConfigError);
    assert.equal(err.problems[0]!.field, "id");
    assert.match(err.message, /cluster ID 256 is invalid: .*maxConnectedClusters set to 511.*\(got 256\)/);
  });

  test("a bad maxConnectedClusters is reported once, not also as an ID problem", () => {
    const err = checkClusterInfo({ name: "c1", id: 400, maxConnectedClusters: 1000 });
    assert.ok(err instanceof ClusterConfigError);
    assert.deepEqual(err.problems.map((p) => p.field), ["maxConnectedClusters"]);
  });

  test("wrong types are named with the value", () => {
    const err = checkClusterInfo({ name: 5, id: "7" });
    assert.ok(err instanceof ClusterConfigError);
    assert.match(err.message, /cluster name must be a string \(got 5\)/);
    assert.match(err.message, /cluster ID "7" is invalid/);
  });
});
