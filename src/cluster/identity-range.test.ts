import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  MAX_GLOBAL_IDENTITY,
  clusterIdBits,
  clusterIdShift,
  clusterOfIdentity,
  identityRangeOf,
  isGlobalIdentity,
  isInClusterRange,
} from "./identity-range.js";

describe("identity ranges", () => {
  test("cluster ID bits and shift follow maxConnectedClusters", () => {
    assert.equal(clusterIdBits(255), 8);
    assert.equal(clusterIdShift(255), 16);
    assert.equal(clusterIdBits(511), 9);
    assert.equal(clusterIdShift(511), 15);
    assert.throws(() => clusterIdShift(300 as 255), /maxConnectedClusters 300 is invalid/);
  });

  test("cluster N owns N<<shift .. ((N+1)<<shift)-1", () => {
    assert.deepEqual(identityRangeOf(1, 255), { first: 65536, last: 131071 });
    assert.deepEqual(identityRangeOf(3, 255), { first: 196608, last: 262143 });
    assert.deepEqual(identityRangeOf(255, 255), { first: 255 * 65536, last: MAX_GLOBAL_IDENTITY });
    assert.deepEqual(identityRangeOf(1, 511), { first: 32768, last: 65535 });
    assert.deepEqual(identityRangeOf(511, 511), { first: 511 * 32768, last: MAX_GLOBAL_IDENTITY });
  });

  test("cluster 0 starts after the reserved numbers", () => {
    assert.deepEqual(identityRangeOf(0, 255), { first: 256, last: 65535 });
    assert.deepEqual(identityRangeOf(0, 511), { first: 256, last: 32767 });
  });

  test("a cluster ID outside the mesh size is refused", () => {
    assert.throws(() => identityRangeOf(256, 255), /cluster ID 256 is invalid/);
    assert.throws(() => identityRangeOf(-1, 255), RangeError);
    assert.throws(() => identityRangeOf(1.5, 511), RangeError);
  });

  test("clusterOfIdentity decodes the cluster at the edges of each range", () => {
    assert.equal(clusterOfIdentity(65536, 255), 1);
    assert.equal(clusterOfIdentity(131071, 255), 1);
    assert.equal(clusterOfIdentity(131072, 255), 2);
    assert.equal(clusterOfIdentity(65535, 255), 0);
    assert.equal(clusterOfIdentity(6, 255), 0);
    assert.equal(clusterOfIdentity(MAX_GLOBAL_IDENTITY, 255), 255);
    // The same number belongs to a different cluster in a 511-cluster mesh.
    assert.equal(clusterOfIdentity(65536, 511), 2);
    assert.equal(clusterOfIdentity(32768, 511), 1);
    assert.equal(clusterOfIdentity(65535, 511), 1);
    assert.equal(clusterOfIdentity(MAX_GLOBAL_IDENTITY, 511), 511);
  });

  test("clusterOfIdentity refuses what is not a global identity", () => {
    assert.equal(clusterOfIdentity(2 ** 24, 255), undefined);
    assert.equal(clusterOfIdentity((1 << 24) | 5, 255), undefined);
    assert.equal(clusterOfIdentity(-1, 255), undefined);
    assert.equal(clusterOfIdentity(1.5, 255), undefined);
    assert.equal(isGlobalIdentity(MAX_GLOBAL_IDENTITY), true);
    assert.equal(isGlobalIdentity(MAX_GLOBAL_IDENTITY + 1), false);
  });

  test("isInClusterRange at first, last and one beyond", () => {
    const { first, last } = identityRangeOf(7, 255);
    assert.equal(isInClusterRange(first, 7, 255), true);
    assert.equal(isInClusterRange(last, 7, 255), true);
    assert.equal(isInClusterRange(first - 1, 7, 255), false);
    assert.equal(isInClusterRange(last + 1, 7, 255), false);
    assert.equal(isInClusterRange(6, 7, 255), false, "reserved numbers are in nobody's range but cluster 0's block");
    assert.equal(isInClusterRange(255, 0, 255), false);
    assert.equal(isInClusterRange(256, 0, 255), true);
  });
});
