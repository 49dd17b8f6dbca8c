import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { clusterIdProblem, isMaxConnectedClusters, isValidClusterId } from "./cluster-id.js";

describe("cluster IDs", () => {
  test("1..255 by default, 1..511 in a 511-cluster mesh", () => {
    assert.equal(isValidClusterId(1), true);
    assert.equal(isValidClusterId(255), true);
    assert.equal(isValidClusterId(256), false);
    assert.equal(isValidClusterId(256, 511), true);
    assert.equal(isValidClusterId(511, 511), true);
    assert.equal(isValidClusterId(512, 511), false);
  });

  test("0, fractions, negatives and non-numbers are not IDs", () => {
    for (const id of [0, -1, 1.5, NaN, Infinity, "3", null, undefined]) assert.equal(isValidClusterId(id), false, String(id));
  });

  test("0 is accepted only when the caller allows an unset ID", () => {
    assert.match(clusterIdProblem(0)!, /0 means "no cluster ID"/);
    assert.equal(clusterIdProblem(0, 255, true), undefined);
  });

  test("an ID above 255 in a 255-cluster mesh says how to get more", () => {
    assert.match(clusterIdProblem(300)!, /maxConnectedClusters set to 511/);
    assert.match(clusterIdProblem(600, 511)!, /from 1 to 511/);
  });

  test("maxConnectedClusters is 255 or 511 and nothing else", () => {
    assert.equal(isMaxConnectedClusters(255), true);
    assert.equal(isMaxConnectedClusters(511), true);
    for (const v of [0, 127, 256, 510, 512, 1023, "255"]) assert.equal(isMaxConnectedClusters(v), false, String(v));
  });
});
