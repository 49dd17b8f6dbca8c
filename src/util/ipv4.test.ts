import { test } from "node:test";
import assert from "node:assert/strict";
import { cidrContainsIp, cidrsOverlap, formatCidr, formatIpv4, isIpv4, nthSubnet, parseCidr, parseIpv4 } from "./ipv4.js";

test("addresses parse strictly and round-trip", () => {
  for (const ip of ["0.0.0.0", "255.255.255.255", "100.65.1.7", "198.18.1.11"]) assert.equal(formatIpv4(parseIpv4(ip)), ip);
  for (const bad of ["1.2.3", "1.2.3.4.5", "01.2.3.4", "256.1.1.1", " 1.2.3.4", "1.2.3.-1", "a.b.c.d", ""]) assert.equal(isIpv4(bad), false, bad);
  assert.throws(() => parseIpv4("1.2.3"), /"1\.2\.3" is not an IPv4 address/);
});

test("CIDRs: strict host bits, containment, overlap, subnets", () => {
  assert.equal(formatCidr(parseCidr("100.65.0.0/16")), "100.65.0.0/16");
  assert.throws(() => parseCidr("100.65.1.1/16"), /host bits set; did you mean 100\.65\.0\.0\/16/);
  assert.equal(formatCidr(parseCidr("100.65.1.1/16", { strict: false })), "100.65.0.0/16");
  assert.throws(() => parseCidr("1.2.3.4/33"), /not an IPv4 CIDR/);
  const pool = parseCidr("100.65.0.0/16");
  assert.ok(cidrContainsIp(pool, parseIpv4("100.65.255.255")));
  assert.ok(!cidrContainsIp(pool, parseIpv4("100.66.0.0")));
  assert.ok(cidrsOverlap(pool, parseCidr("100.65.3.0/24")));
  assert.ok(cidrsOverlap(parseCidr("100.64.0.0/10"), pool));
  assert.ok(!cidrsOverlap(pool, parseCidr("100.66.0.0/16")));
  assert.equal(formatCidr(nthSubnet(pool, 24, 0)!), "100.65.0.0/24");
  assert.equal(formatCidr(nthSubnet(pool, 24, 255)!), "100.65.255.0/24");
  assert.equal(nthSubnet(pool, 24, 256), undefined);
  assert.equal(formatCidr(nthSubnet(parseCidr("0.0.0.0/0"), 1, 1)!), "128.0.0.0/1");
});
