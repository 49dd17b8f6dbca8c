import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { cidrContains, cidrOf, cidrsOverlap, formatIpv4, isIpv4, Ipv4Error, nthSubnet, parseCidr, parseIpv4, tryParseCidr, tryParseIpv4 } from "./ipv4.js";

describe("IPv4 addresses", () => {
  test("round-trip dotted quads, including the extremes", () => {
    for (const ip of ["0.0.0.0", "255.255.255.255", "100.65.1.7", "198.18.1.11"]) assert.equal(formatIpv4(parseIpv4(ip)), ip);
    assert.equal(parseIpv4("100.65.1.7"), 100 * 2 ** 24 + 65 * 2 ** 16 + 256 + 7);
    assert.equal(parseIpv4("198.18.250.11"), 0xc612fa0b);
  });

  test("refuse text that is not exactly four octets, naming the text", () => {
    const bad = ["", "1.2.3", "10.1", "198.18.250", "1.2.3.4.5", "256.1.1.1", "198.18.250.256", "01.2.3.4", "198.018.1.1", "1.2.3.-4", "1.2.3.-1", " 1.2.3.4", "a.b.c.d", "1.2.3.4/32", "::1"];
    for (const text of bad) {
      assert.throws(() => parseIpv4(text), (e: Error) => e instanceof RangeError && e instanceof Ipv4Error && e.message.includes(`"${text}"`), text);
      assert.equal(isIpv4(text), false, text);
      assert.equal(tryParseIpv4(text), undefined, text);
    }
    assert.throws(() => parseIpv4("1.2.3"), /"1\.2\.3" is not an IPv4 address/);
  });
});

describe("IPv4 CIDRs", () => {
  test("a pod CIDR parses to its canonical text and knows its bounds", () => {
    const c = parseCidr("100.65.1.0/24");
    assert.equal(c.text, "100.65.1.0/24");
    assert.equal(c.size, 256);
    assert.equal(formatIpv4(c.network), "100.65.1.0");
    assert.equal(formatIpv4(c.broadcast), "100.65.1.255");
    assert.ok(cidrContains(c, parseIpv4("100.65.1.0")));
    assert.ok(cidrContains(c, parseIpv4("100.65.1.255")));
    assert.ok(!cidrContains(c, parseIpv4("100.65.0.255")));
    assert.ok(!cidrContains(c, parseIpv4("100.65.2.0")));
    assert.equal(parseCidr("100.65.0.0/16").text, "100.65.0.0/16");
  });

  test("the whole address space and a single address are blocks too", () => {
    assert.deepEqual(parseCidr("0.0.0.0/0"), { text: "0.0.0.0/0", network: 0, prefixLength: 0, size: 2 ** 32, broadcast: 0xffffffff });
    assert.deepEqual(tryParseCidr("0.0.0.0/0"), parseCidr("0.0.0.0/0"));
    const one = parseCidr("255.255.255.255/32");
    assert.equal(one.size, 1);
    assert.equal(one.broadcast, one.network);
  });

  test("host bits are refused, naming the network that was probably meant; loose parsing drops them", () => {
    assert.throws(() => parseCidr("100.65.1.1/16"), /host bits set; did you mean 100\.65\.0\.0\/16/);
    assert.throws(() => parseCidr("100.65.1.7/24"), (e: Error) => e instanceof RangeError && /"100\.65\.1\.7\/24" has host bits set; did you mean 100\.65\.1\.0\/24/.test(e.message));
    assert.equal(tryParseCidr("100.65.1.7/24"), undefined);
    assert.equal(parseCidr("100.65.1.1/16", { strict: false }).text, "100.65.0.0/16");
    assert.equal(tryParseCidr("100.65.1.1/16", { strict: false })?.text, "100.65.0.0/16");
  });

  test("malformed CIDRs are refused, naming the text", () => {
    assert.throws(() => parseCidr("1.2.3.4/33"), /not an IPv4 CIDR/);
    for (const bad of ["100.65.1.0", "100.65.1.0/33", "100.127.1.0/33", "100.65.1.0/", "100.65.1.0/024", "100.65.1/24", "/24", "100.65.1.0/-1", " 100.65.1.0/24"]) {
      assert.throws(() => parseCidr(bad), (e: Error) => e instanceof RangeError && e.message.includes(`"${bad}"`), bad);
      assert.equal(tryParseCidr(bad), undefined, bad);
    }
  });

  test("overlap: containment either way, adjacency is not overlap", () => {
    const pool = parseCidr("100.65.0.0/16");
    assert.ok(cidrContains(pool, parseIpv4("100.65.255.255")));
    assert.ok(!cidrContains(pool, parseIpv4("100.66.0.0")));
    assert.ok(cidrsOverlap(pool, parseCidr("100.65.3.0/24")));
    assert.ok(cidrsOverlap(parseCidr("100.64.0.0/10"), pool));
    assert.ok(!cidrsOverlap(pool, parseCidr("100.66.0.0/16")));
    assert.equal(cidrsOverlap(parseCidr("100.64.0.0/10"), parseCidr("100.127.3.0/24")), true);
    assert.equal(cidrsOverlap(parseCidr("100.127.2.0/24"), parseCidr("100.127.3.0/24")), false);
    assert.equal(cidrsOverlap(parseCidr("255.255.255.0/24"), parseCidr("255.255.255.255/32")), true);
  });

  test("a pool is cut into numbered subnets, and runs out", () => {
    const pool = parseCidr("100.65.0.0/16");
    assert.equal(nthSubnet(pool, 24, 0)?.text, "100.65.0.0/24");
    assert.equal(nthSubnet(pool, 24, 255)?.text, "100.65.255.0/24");
    assert.equal(nthSubnet(pool, 24, 256), undefined);
    assert.equal(nthSubnet(parseCidr("0.0.0.0/0"), 1, 1)?.text, "128.0.0.0/1");
    assert.throws(() => nthSubnet(pool, 8, 0), /cannot cut \/8 subnets out of 100\.65\.0\.0\/16/);
  });

  test("a block can be built from a number, and bad numbers are refused", () => {
    assert.equal(cidrOf(parseIpv4("100.65.1.7"), 24).text, "100.65.1.0/24");
    assert.throws(() => cidrOf(0, 33), /prefix length 33 is out of range/);
    assert.throws(() => cidrOf(2 ** 32, 24), /4294967296 is not an IPv4 address/);
  });
});
