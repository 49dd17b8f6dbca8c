import assert from "node:assert/strict";
import { test } from "node:test";
import { kvstoreOperationsMetric, scopeOfKey } from "./kvstore-metrics.js";
import { createRegistry } from "./registry.js";
import { parseExposition, samplesOf, valueOf } from "./testing/exposition.js";

test("the scope label names the kind of key, never the key itself", () => {
  const cases: [string, string][] = [
    ["cilium/state/nodes/v1/cluster-1/node-1", "nodes/v1"],
    ["cilium/cache/nodes/v1/cluster-2/node-1", "nodes/v1"],
    ["cilium/state/ip/v1/default/100.65.0.10", "ip/v1"],
    ["cilium/state/identities/v1/id/65537", "identities/v1"],
    ["cilium/state/services/v1/", "services/v1"],
    ["cilium/synced/cluster-2/cilium/state/nodes/v1", "synced/nodes/v1"],
    ["cilium/synced/cluster-2", "synced"],
    ["cilium/cluster-config/cluster-2", "cluster-config"],
    ["cilium/.heartbeat", "heartbeat"],
    ["trellis/pods/default/web-1", "trellis/pods"],
    ["cilium/state", "other"],
    ["", "other"],
    ["something/else", "other"],
  ];
  for (const [key, scope] of cases) assert.equal(scopeOfKey(key), scope, key);
});

test("kvstore operations are timed by scope, kind, action and outcome", async () => {
  const registry = createRegistry();
  const observe = kvstoreOperationsMetric(registry, "cilium_kvstore_operations_duration_seconds");
  observe({ kind: "put", key: "cilium/state/nodes/v1/c1/n1", seconds: 0.002, ok: true });
  observe({ kind: "put", key: "cilium/state/nodes/v1/c1/n2", seconds: 0.004, ok: true });
  observe({ kind: "deletePrefix", key: "cilium/cache/ip/v1/c2/", seconds: 0.5, ok: false });
  const samples = parseExposition(await registry.metrics());
  const name = "cilium_kvstore_operations_duration_seconds";
  assert.equal(valueOf(samples, `${name}_count`, { scope: "nodes/v1", kind: "put", action: "set", outcome: "success" }), 2);
  assert.equal(valueOf(samples, `${name}_sum`, { scope: "nodes/v1", kind: "put", action: "set", outcome: "success" }), 0.006);
  assert.equal(valueOf(samples, `${name}_count`, { scope: "ip/v1", kind: "deletePrefix", action: "delete", outcome: "fail" }), 1);
  assert.equal(valueOf(samples, `${name}_bucket`, { scope: "ip/v1", outcome: "fail", le: "0.25" }), 0);
  assert.equal(valueOf(samples, `${name}_bucket`, { scope: "ip/v1", outcome: "fail", le: "0.5" }), 1);
  assert.equal(samplesOf(samples, `${name}_count`).length, 2, "one series per label set, none per key");
});
