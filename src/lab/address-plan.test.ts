import { test } from "node:test";
import assert from "node:assert/strict";
import { planCluster, isLabNetns, LabPlanError } from "./address-plan.js";

test("cluster c, node n follow the address plan", () => {
  const c = planCluster(2, 3);
  assert.equal(c.name, "cluster-2");
  assert.equal(c.id, 2);
  assert.equal(c.controlPlane.ip, "198.18.2.2");
  assert.deepEqual(c.nodes.map((n) => [n.name, n.ip, n.netns]), [
    ["node-1", "198.18.2.11", "trl-c2-n1"],
    ["node-2", "198.18.2.12", "trl-c2-n2"],
    ["node-3", "198.18.2.13", "trl-c2-n3"],
  ]);
  assert.equal(c.podPool, "100.66.0.0/16");
  assert.equal(c.serviceCIDR, "198.19.2.0/25");
  assert.equal(c.loadBalancerPool, "198.19.2.128/25");
  for (const n of c.nodes) assert.ok(n.fabricPort.length <= 15, "interface names fit IFNAMSIZ");
  assert.ok(isLabNetns(c.controlPlane.netns));
});

test("out-of-plan sizes are refused with the allowed range", () => {
  assert.throws(() => planCluster(0, 1), (e: unknown) => e instanceof LabPlanError && /1\.\.63 \(got 0\)/.test(e.message));
  assert.throws(() => planCluster(1, 0), /--nodes must be between 1 and 200 \(got 0\)/);
  assert.throws(() => planCluster(1, 201), /got 201/);
});
