import { test } from "node:test";
import assert from "node:assert/strict";
import type { ClusterSettings } from "../../resources/cluster-settings.js";
import { connectProblems } from "./connect.js";

const c = (over: Partial<ClusterSettings>): ClusterSettings => ({
  name: "cluster-1",
  id: 1,
  maxConnectedClusters: 255,
  datapathMode: "tunnel",
  podPool: "100.65.0.0/16",
  podNodeMaskSize: 24,
  serviceCIDR: "198.19.1.0/25",
  loadBalancerPool: "198.19.1.128/25",
  ...over,
});

test("two well-formed, distinct clusters can be connected", () => {
  assert.deepEqual(connectProblems(c({}), c({ name: "cluster-2", id: 2, podPool: "100.66.0.0/16" })), []);
});

test("every reason to refuse is named", () => {
  const p = connectProblems(c({}), c({ id: 1, maxConnectedClusters: 511, datapathMode: "native", podPool: "100.65.128.0/17" }));
  assert.equal(p.length, 5);
  assert.match(p[0]!, /both clusters are named "cluster-1"/);
  assert.match(p[1]!, /both clusters have cluster ID 1/);
  assert.match(p[2]!, /maxConnectedClusters differs: cluster-1 has 255, cluster-1 has 511/);
  assert.match(p[3]!, /datapath modes differ/);
  assert.match(p[4]!, /pod CIDRs overlap: cluster-1 uses 100\.65\.0\.0\/16, cluster-1 uses 100\.65\.128\.0\/17/);
  assert.match(connectProblems(c({}), c({ name: "x", id: 300, podPool: "100.66.0.0/16" })).join("\n"), /300/);
});
