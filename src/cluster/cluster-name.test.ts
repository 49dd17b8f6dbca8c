import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { clusterNameProblem, isValidClusterName } from "./cluster-name.js";

describe("cluster names", () => {
  test("accepts names Cilium accepts", () => {
    for (const name of ["c1", "a", "0", "cluster-1", "eu-west-1a", "a".repeat(32), "1-2-3", "default"]) {
      assert.equal(clusterNameProblem(name), undefined, name);
      assert.equal(isValidClusterName(name), true, name);
    }
  });

  test("rejects names Cilium rejects, saying which rule", () => {
    assert.match(clusterNameProblem("")!, /must not be empty/);
    assert.match(clusterNameProblem("a".repeat(33))!, /at most 32 characters.*it has 33/);
    for (const name of ["Cluster_1", "-c1", "c1-", "c 1", "c.1", "C1", "c1\n", "ç1"]) {
      assert.match(clusterNameProblem(name)!, /lower case letters, digits and '-'/, name);
      assert.equal(isValidClusterName(name), false, name);
    }
  });

  test("isValidClusterName refuses non-strings", () => {
    assert.equal(isValidClusterName(42), false);
    assert.equal(isValidClusterName(undefined), false);
  });
});
