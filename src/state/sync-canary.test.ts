import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { validateClusterInfo } from "../cluster/index.js";
import { decodeSyncCanary, encodeSyncCanary, syncCanaryEntry } from "./sync-canary.js";
import { SYNC_CANARY } from "./testdata/golden.js";
import { accepted, refused } from "./testdata/assert-result.js";

describe("sync canaries", () => {
  test("golden value survives decode -> encode", () => {
    const r = accepted(decodeSyncCanary(SYNC_CANARY.key, Buffer.from(SYNC_CANARY.value)));
    assert.deepEqual(r, { cluster: "c1", prefix: "cilium/state/nodes/v1", syncedAt: new Date("2025-03-14T09:26:53Z") });
    assert.equal(encodeSyncCanary(r), SYNC_CANARY.value);
  });

  test("any RFC 3339 form Go's parser takes is read", () => {
    assert.equal(accepted(decodeSyncCanary(SYNC_CANARY.key, "2025-03-14T10:26:53+01:00")).syncedAt.toISOString(), "2025-03-14T09:26:53.000Z");
    accepted(decodeSyncCanary(SYNC_CANARY.key, "2025-03-14T09:26:53.123456789Z"));
  });

  test("KVStoreMesh's canaries name the cache prefix", () => {
    const e = syncCanaryEntry("c2", "cilium/cache/ip/v1", new Date("2025-01-01T00:00:00Z"));
    assert.deepEqual(e, { key: "cilium/synced/c2/cilium/cache/ip/v1", value: "2025-01-01T00:00:00Z" });
    assert.equal(accepted(decodeSyncCanary(e.key, e.value)).prefix, "cilium/cache/ip/v1");
  });

  test("refusals", () => {
    refused(decodeSyncCanary(SYNC_CANARY.key, "yesterday"), "invalid-value", /RFC 3339/);
    refused(decodeSyncCanary(SYNC_CANARY.key, "2025-02-30T00:00:00Z"), "invalid-value");
    refused(decodeSyncCanary("cilium/synced/c1", SYNC_CANARY.value), "invalid-key");
    refused(decodeSyncCanary("cilium/synced/c1/other/prefix", SYNC_CANARY.value), "invalid-key", /not under cilium\/state\//);
    refused(decodeSyncCanary("cilium/synced/C1/cilium/state/nodes/v1", SYNC_CANARY.value), "invalid-name");
    refused(decodeSyncCanary(SYNC_CANARY.key, SYNC_CANARY.value, { cluster: validateClusterInfo({ name: "c2", id: 2 }) }), "cluster-mismatch");
    assert.throws(() => encodeSyncCanary({ syncedAt: new Date(NaN) }), /valid Date/);
  });
});
