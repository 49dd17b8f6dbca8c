import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { decodeHeartbeat, encodeHeartbeat } from "./heartbeat.js";
import { HEARTBEAT } from "./testdata/golden.js";
import { accepted, refused } from "./testdata/assert-result.js";

describe("heartbeat", () => {
  test("golden value survives decode -> encode", () => {
    const r = accepted(decodeHeartbeat(HEARTBEAT.key, Buffer.from(HEARTBEAT.value)));
    assert.equal(r.at.toISOString(), "2025-03-14T09:27:00.000Z");
    assert.equal(encodeHeartbeat(r), HEARTBEAT.value);
  });

  test("encode writes UTC, whole seconds", () => {
    assert.equal(encodeHeartbeat({ at: new Date("2025-06-01T12:00:00.987Z") }), "2025-06-01T12:00:00Z");
  });

  test("refusals", () => {
    refused(decodeHeartbeat("cilium/.heartbeat2", HEARTBEAT.value), "invalid-key");
    refused(decodeHeartbeat(HEARTBEAT.key, ""), "invalid-value");
    refused(decodeHeartbeat(HEARTBEAT.key, "2025-03-14 09:27:00Z"), "invalid-value", /got "2025-03-14 09:27:00Z"/);
    refused(decodeHeartbeat(HEARTBEAT.key, 5 as unknown as string), "wrong-type");
  });
});
