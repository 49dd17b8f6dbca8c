import assert from "node:assert/strict";
import { test } from "node:test";
import { describeKey, keyCovers, keyRanges, parsePolicyKey, policyKey } from "./policy-key.js";

test("keys are identity/protocol/port strings, with a range suffix and 0 as wildcard", () => {
  assert.equal(policyKey(65537, 6, 80), "65537/6/80");
  assert.equal(policyKey(65537, 6, 8000, 8080), "65537/6/8000-8080");
  assert.equal(policyKey(0, 0, 0), "0/0/0");
  assert.deepEqual(parsePolicyKey("65537/6/8000-8080"), { identity: 65537, protocol: 6, port: 8000, endPort: 8080 });
  assert.deepEqual(parsePolicyKey("2/17/53"), { identity: 2, protocol: 17, port: 53, endPort: 53 });
});

test("bad keys are refused with the value given", () => {
  assert.throws(() => policyKey(1, 6, 70000), /port must be 0-65535 \(got 70000\)/);
  assert.throws(() => policyKey(1, 6, 80, 79), /end port must be 80-65535 \(got 79\)/);
  assert.throws(() => policyKey(1, 6, 0, 5), /end port must be 0 with port 0 \(got 5\)/);
  assert.throws(() => policyKey(-1, 6, 80), /identity must be a non-negative integer \(got -1\)/);
  assert.throws(() => parsePolicyKey("web/tcp/80"), /policy key "web\/tcp\/80" is not <identity>\/<protocol>\/<port>/);
});

test("a key covers flows by exact value, wildcard or port range", () => {
  const covers = (key: string, id: number, proto: number, port: number) => keyCovers(parsePolicyKey(key), id, proto, port);
  assert.equal(covers("65537/6/80", 65537, 6, 80), true);
  assert.equal(covers("65537/6/80", 65538, 6, 80), false);
  assert.equal(covers("65537/6/80", 65537, 17, 80), false);
  assert.equal(covers("65537/6/80", 65537, 6, 81), false);
  assert.equal(covers("0/6/80", 12345, 6, 80), true);
  assert.equal(covers("65537/0/80", 65537, 132, 80), true);
  assert.equal(covers("65537/0/0", 65537, 1, 0), true);
  assert.equal(covers("65537/6/8000-8080", 65537, 6, 8080), true);
  assert.equal(covers("65537/6/8000-8080", 65537, 6, 8081), false);
});

test("keyRanges spells wildcards out as whole ranges, for an interval nftables set", () => {
  assert.deepEqual(keyRanges("0/6/443"), { identity: [0, 16777215], protocol: [6, 6], port: [443, 443] });
  assert.deepEqual(keyRanges("65537/0/0"), { identity: [65537, 65537], protocol: [0, 255], port: [0, 65535] });
  assert.deepEqual(keyRanges("2/17/5000-5010"), { identity: [2, 2], protocol: [17, 17], port: [5000, 5010] });
});

test("describeKey reads as a trace prints it", () => {
  assert.equal(describeKey("65537/6/80"), "65537 TCP/80");
  assert.equal(describeKey("0/0/0"), "any-identity ANY/any-port");
  assert.equal(describeKey("2/17/5000-5010"), "2 UDP/5000-5010");
});
