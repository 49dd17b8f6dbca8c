import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { freshStart, labLeftovers, trellis } from "./helpers.js";

/**
 * A third cluster that does not fit the mesh: connect refuses with a clear message and changes
 * nothing, for a clashing cluster ID, an overlapping pod CIDR, and maxConnectedClusters 511
 * against 255. Then, once fixed, the same connect succeeds.
 */
function peersOf(ctx: string): string[] {
  const r = trellis(["get", "secret", "cilium-clustermesh", "--context", ctx, "-o", "json"], { allowFailure: true });
  return r.code === 0 ? Object.keys((JSON.parse(r.stdout) as { data: Record<string, string> }).data).filter((k) => !k.includes(".")) : [];
}

function refused(expect: RegExp): void {
  const r = trellis(["clustermesh", "connect", "--context", "cluster-1", "--destination-context", "cluster-3"], { allowFailure: true });
  assert.notEqual(r.code, 0, "connect must fail");
  assert.match(r.stderr, expect);
  assert.deepEqual(peersOf("cluster-1"), [], "nothing changed in cluster-1");
  assert.deepEqual(peersOf("cluster-3"), [], "nothing changed in cluster-3");
}

describe("cluster mesh: connect refuses clusters that do not fit", () => {
  before(() => freshStart());
  after(() => trellis(["lab", "down"], { allowFailure: true }));

  test("three clusters, mesh enabled on cluster-1 and cluster-3", () => {
    trellis(["lab", "up", "--clusters", "3", "--nodes", "1"]);
    for (const ctx of ["cluster-1", "cluster-3"]) trellis(["clustermesh", "enable", "--context", ctx, "--service-type", "ClusterIP"]);
  });

  test("a clashing cluster ID is refused", () => {
    trellis(["install", "--context", "cluster-3", "--set", "cluster.id=1"]);
    refused(/cannot connect cluster-1 and cluster-3:\n\s+- both clusters have cluster ID 1/);
    trellis(["install", "--context", "cluster-3", "--set", "cluster.id=3"]);
  });

  test("an overlapping pod CIDR is refused", () => {
    trellis(["install", "--context", "cluster-3", "--set", "ipam.operator.clusterPoolIPv4PodCIDRList={100.65.0.0/16}"]);
    refused(/pod CIDRs overlap: cluster-1 uses 100\.65\.0\.0\/16, cluster-3 uses 100\.65\.0\.0\/16/);
    trellis(["install", "--context", "cluster-3", "--set", "ipam.operator.clusterPoolIPv4PodCIDRList={100.67.0.0/16}"]);
  });

  test("maxConnectedClusters 511 against 255 is refused", () => {
    const plain = trellis(["install", "--context", "cluster-3", "--set", "maxConnectedClusters=511"], { allowFailure: true });
    assert.notEqual(plain.code, 0);
    assert.match(plain.stderr, /refusing to change maxConnectedClusters from 255 to 511/);
    trellis(["install", "--context", "cluster-3", "--set", "maxConnectedClusters=511", "--force"]);
    refused(/maxConnectedClusters differs: cluster-1 has 255, cluster-3 has 511/);
  });

  test("once it fits, connect succeeds", () => {
    trellis(["install", "--context", "cluster-3", "--set", "maxConnectedClusters=255", "--force"]);
    assert.match(trellis(["clustermesh", "connect", "--context", "cluster-1", "--destination-context", "cluster-3"]).stdout, /Connected cluster cluster-1 and cluster-3/);
    assert.deepEqual(peersOf("cluster-1"), ["cluster-3"]);
    assert.deepEqual(peersOf("cluster-3"), ["cluster-1"]);
  });

  test("lab down leaves nothing behind", () => {
    trellis(["lab", "down"]);
    assert.deepEqual(labLeftovers(), []);
  });
});
