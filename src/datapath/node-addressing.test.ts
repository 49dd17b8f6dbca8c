import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { routerIP, tunnelMac } from "./node-addressing.js";

describe("node addressing: what peers derive from a node record", () => {
  test("the router IP is the first host address of the pod CIDR", () => {
    assert.equal(routerIP("100.127.1.0/24"), "100.127.1.1");
    assert.equal(routerIP("100.65.0.0/16"), "100.65.0.1");
    assert.equal(routerIP("10.0.0.252/30"), "10.0.0.253");
  });

  test("the tunnel MAC is 0e:74 and the router IP's octets: locally administered, unicast", () => {
    const mac = tunnelMac("100.127.1.0/24");
    assert.equal(mac, "0e:74:64:7f:01:01");
    const first = parseInt(mac.slice(0, 2), 16);
    assert.equal(first & 0x02, 0x02, "locally administered bit set");
    assert.equal(first & 0x01, 0, "multicast bit clear");
    assert.equal(tunnelMac("100.65.255.0/24"), "0e:74:64:41:ff:01");
  });

  test("distinct pod CIDRs give distinct MACs", () => {
    const macs = new Set<string>();
    for (let c = 64; c < 128; c++) for (let n = 0; n < 256; n += 17) macs.add(tunnelMac(`100.${c}.${n}.0/24`));
    assert.equal(macs.size, 64 * 16);
  });

  test("a malformed or too small pod CIDR is refused with the value in the message", () => {
    assert.throws(() => routerIP("100.127.1.5/24"), /pod CIDR "100\.127\.1\.5\/24" is not an IPv4 network/);
    assert.throws(() => tunnelMac("100.127.1.0"), /pod CIDR "100\.127\.1\.0" is not an IPv4 network/);
    assert.throws(() => routerIP("100.127.1.0/31"), /pod CIDR "100\.127\.1\.0\/31" is too small/);
  });
});
