import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { validateClusterInfo } from "../cluster/index.js";
import { decodeClusterConfig } from "./cluster-config.js";
import { decodeIdentity } from "./identity.js";
import { decodeIpcache } from "./ipcache.js";
import { decodeNode } from "./node.js";
import { RECORD_ERROR_REASONS, RecordError, type DecodeResult, type RecordErrorReason } from "./record-error.js";
import { IPCACHE_CIDR, IPCACHE_POD, NODE_V4 } from "./testdata/golden.js";

describe("refusal reasons", () => {
  test("each reason is produced by some input, and names the key and the value given", () => {
    const c2 = validateClusterInfo({ name: "c2", id: 2 });
    const cases: [RecordErrorReason, DecodeResult<unknown>, RegExp][] = [
      ["malformed-json", decodeIpcache(IPCACHE_POD.key, "{nope"), /got "\{nope"/],
      ["missing-field", decodeIpcache(IPCACHE_POD.key, "{}"), /field "IP" is missing/],
      ["wrong-type", decodeIpcache(IPCACHE_POD.key, '{"IP":7}'), /got number 7/],
      ["invalid-ip", decodeIpcache(IPCACHE_POD.key, '{"IP":"1.2.3"}'), /got "1\.2\.3"/],
      ["invalid-cidr", decodeIpcache(IPCACHE_CIDR.key, IPCACHE_CIDR.value.replace("//8AAA==", "AP8AAA==")), /got "AP8AAA=="/],
      ["key-mismatch", decodeIpcache("cilium/state/ip/v1/default/100.65.1.8", IPCACHE_POD.value), /"100\.65\.1\.7".*"100\.65\.1\.8"/],
      ["identity-out-of-range", decodeIpcache(IPCACHE_POD.key, IPCACHE_POD.value, { cluster: c2 }), /identity 65541/],
      ["invalid-name", decodeNode("cilium/state/nodes/v1/Bad/node-1", NODE_V4.value), /"Bad"/],
      ["invalid-key", decodeNode("cilium/state/nodes/v1/c1", NODE_V4.value), /not a node key/],
      ["invalid-value", decodeClusterConfig("cilium/cluster-config/c1", '{"id":1,"capabilities":{"maxConnectedClusters":7}}'), /got 7/],
      ["invalid-label", decodeIdentity("cilium/state/identities/v1/id/70000", "app=web;"), /"app=web"/],
      ["cluster-mismatch", decodeNode(NODE_V4.key, NODE_V4.value, { cluster: c2 }), /"c2"/],
    ];
    assert.deepEqual(cases.map(([reason]) => reason).sort(), [...RECORD_ERROR_REASONS].sort());
    for (const [reason, result, message] of cases) {
      assert.equal(result.ok, false, reason);
      if (result.ok) continue;
      assert.ok(result.error instanceof RecordError);
      assert.equal(result.error.reason, reason, result.error.message);
      assert.match(result.error.message, message, reason);
      assert.ok(result.error.message.includes(result.error.key), `${reason}: the message names the key`);
    }
  });
});
