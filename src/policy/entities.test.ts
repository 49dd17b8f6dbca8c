import assert from "node:assert/strict";
import { test } from "node:test";
import { ENTITIES, type Entity } from "./model.js";
import { entityMatches } from "./entities.js";
import { reservedIdentityLabels } from "./resolve.js";
import { workload } from "./testing/mesh-fixture.js";

const local = workload("c1", 1, 1, { app: "web" });
const remote = workload("c2", 2, 1, { app: "web" });

/** The identities an entity selects among the reserved ones and one workload per cluster. */
function selected(entity: Entity): number[] {
  const all = new Map(reservedIdentityLabels());
  all.set(local.identity, local.labels);
  all.set(remote.identity, remote.labels);
  return [...all].filter(([, labels]) => entityMatches(entity, labels, "c1")).map(([id]) => id).sort((a, b) => a - b);
}

test("each entity selects the identities Cilium gives it", () => {
  const expected: Record<Entity, number[]> = {
    all: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, local.identity, remote.identity],
    world: [2, 9, 10],
    "world-ipv4": [9],
    "world-ipv6": [10],
    // host, unmanaged, health, init, remote-node, kube-apiserver, ingress, and this cluster's workloads
    cluster: [1, 3, 4, 5, 6, 7, 8, local.identity],
    host: [1],
    init: [5],
    ingress: [8],
    unmanaged: [3],
    // kube-apiserver (7) is a remote node too
    "remote-node": [6, 7],
    health: [4],
    none: [],
    "kube-apiserver": [7],
  };
  for (const entity of ENTITIES) assert.deepEqual(selected(entity), expected[entity], entity);
});
