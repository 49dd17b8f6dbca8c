import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { cidrContains, formatIpv4, isIpv4, parseIpv4, parseIpv4Cidr } from "./ipv4.js";

describe("IPv4 addresses", () => {
  test("round-trips dotted quads, including the extremes", () => {
    for (const text of ["0.0.0.0", "100.65.1.7", "255.255.255.255"]) assert.equal(formatIpv4(parseIpv4(text)), text);
    assert.equal(parseIpv4("100.65.1.7"), 100 * 2 ** 24 + 65 * 2 ** 16 + 256 + 7);
  });

  test("refuses text that is not exactly four octets, naming the text", () => {
    for (const bad of ["", "10.1", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.-4", " 1.2.3.4", "a.b.c.d"]) {
      assert.throws(() => parseIpv4(bad), (e: Error) => e instanceof RangeError && e.message.includes(`"${bad}"`));
      assert.equal(isIpv4(bad), false);
    }
  });
});

describe("IPv4 CIDRs", () => {
  test("parses a pod CIDR and knows its bounds", () => {
    const c = parseIpv4Cidr("100.65.1.0/24");
    assert.equal(c.text, "100.65.1.0/24");
    assert.equal(c.size, 256);
    assert.equal(formatIpv4(c.broadcast), "100.65.1.255");
    assert.ok(cidrContains(c, parseIpv4("100.65.1.255")));
    assert.ok(!cidrContains(c, parseIpv4("100.65.2.0")));
    assert.equal(parseIpv4Cidr("0.0.0.0/0").size, 2 ** 32);
  });

  test("refuses host bits and says which network was meant", () => {
    assert.throws(() => parseIpv4Cidr("100.65.1.7/24"), /host bits set; the network is 100\.65\.1\.0\/24/);
  });

  test("refuses malformed prefixes, naming the text", () => {
    for (const bad of ["100.65.1.0", "100.65.1.0/33", "100.65.1.0/", "100.65.1.0/024", "100.65.1/24"]) {
      assert.throws(() => parseIpv4Cidr(bad), (e: Error) => e instanceof RangeError && e.message.includes(`"${bad}"`));
    }
  });
});
