import { test } from "node:test";
import assert from "node:assert/strict";
import { assignPodCidrs, PodCidrExhaustedError } from "./pod-cidr-allocator.js";
import { planScale } from "./scheduler.js";

test("pod CIDRs: lowest free /24 per new node, sticky, released when the node is gone", () => {
  const first = assignPodCidrs("100.65.0.0/16", 24, ["node-1", "node-2", "node-10"], new Map());
  assert.deepEqual([...first.assignments], [
    ["node-1", "100.65.0.0/24"],
    ["node-2", "100.65.1.0/24"],
    ["node-10", "100.65.2.0/24"],
  ]);
  const second = assignPodCidrs("100.65.0.0/16", 24, ["node-2", "node-10", "node-3"], first.assignments);
  assert.equal(second.assignments.get("node-2"), "100.65.1.0/24", "existing assignments never move");
  assert.deepEqual(second.released, ["node-1"]);
  assert.equal(second.added.get("node-3"), "100.65.0.0/24", "the freed subnet is reused by a new node");
  assert.throws(() => assignPodCidrs("100.65.0.0/23", 24, ["a", "b", "c"], new Map()), PodCidrExhaustedError);
});

test("replicas spread evenly and scale down from the most crowded node", () => {
  const nodes = ["node-1", "node-2", "node-3"];
  const up = planScale("nginx", 6, [], nodes);
  assert.equal(up.create.length, 6);
  const per = new Map<string, number>();
  for (const c of up.create) per.set(c.node, (per.get(c.node) ?? 0) + 1);
  assert.deepEqual([...per.values()], [2, 2, 2]);
  assert.equal(new Set(up.create.map((c) => c.name)).size, 6, "names are unique");
  assert.ok(up.create.every((c) => /^nginx-[0-9a-f]{5}$/.test(c.name)));

  const pods = [
    { name: "a", node: "node-1", createdAt: "2026-01-01T00:00:01Z" },
    { name: "b", node: "node-1", createdAt: "2026-01-01T00:00:02Z" },
    { name: "c", node: "node-2", createdAt: "2026-01-01T00:00:03Z" },
  ];
  assert.deepEqual(planScale("x", 2, pods, ["node-1", "node-2"]).remove, ["b"], "newest pod on the crowded node goes");
  assert.deepEqual(planScale("x", 0, pods, ["node-1", "node-2"]).remove.sort(), ["a", "b", "c"]);
  const gone = planScale("x", 3, pods, ["node-2", "node-3"]);
  assert.deepEqual(gone.remove.sort(), ["a", "b"], "pods on a vanished node are replaced");
  assert.deepEqual(gone.create.map((c) => c.node).sort(), ["node-2", "node-3"].sort());
  assert.deepEqual(planScale("x", 2, [], []).create, [], "no nodes: nothing scheduled yet");
});
