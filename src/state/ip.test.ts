import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { canonicalIp, formatIp, maskFromBase64, maskToBase64, parseCidr, parseIp } from "./ip.js";

describe("IP addresses read and printed like Go's net package", () => {
  test("IPv4", () => {
    assert.equal(canonicalIp("10.0.0.1"), "10.0.0.1");
    assert.equal(canonicalIp("255.255.255.255"), "255.255.255.255");
    assert.equal(canonicalIp("0.0.0.0"), "0.0.0.0");
    for (const bad of ["010.0.0.1", "10.0.0", "10.0.0.1.", "10.0.0.256", "1.2.3.4.5", "", "a.b.c.d", "10..0.1", " 10.0.0.1", "1.2.3.1000"]) {
      assert.equal(canonicalIp(bad), undefined, bad);
    }
  });

  test("IPv6 compression follows Go (longest run of two or more zero groups)", () => {
    const cases: [string, string][] = [
      ["fd00::1", "fd00::1"],
      ["FD00:0:0:0:0:0:0:1", "fd00::1"],
      ["::", "::"],
      ["::1", "::1"],
      ["1::", "1::"],
      ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
      ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
      ["2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:db8::ff00:42:8329"],
      ["::ffff:10.1.2.3", "10.1.2.3"],
      ["64:ff9b::10.1.2.3", "64:ff9b::a01:203"],
      ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
    ];
    for (const [input, want] of cases) assert.equal(canonicalIp(input), want, input);
    for (const bad of [":", ":::", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "fe80::1%eth0", "1:2:3:4:5:6:7", "::g", "1:", "1:2:3:4:5:6:7::8"]) {
      assert.equal(canonicalIp(bad), undefined, bad);
    }
  });

  test("IPv4-mapped addresses are IPv4", () => {
    const p = parseIp("::ffff:192.0.2.1")!;
    assert.equal(p.family, 4);
    assert.deepEqual([...p.bytes], [192, 0, 2, 1]);
    assert.equal(formatIp(Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 1, 2, 3, 4])), "1.2.3.4");
  });
});

describe("masks and prefixes", () => {
  test("masks are the base64 of their bytes, as Go writes net.IPMask", () => {
    assert.equal(maskToBase64(4, 24), "////AA==");
    assert.equal(maskToBase64(6, 64), "//////////8AAAAAAAAAAA==");
    assert.deepEqual(maskFromBase64("////AA=="), { family: 4, bits: 24 });
    assert.deepEqual(maskFromBase64("/////w=="), { family: 4, bits: 32 });
    assert.deepEqual(maskFromBase64("AAAAAA=="), { family: 4, bits: 0 });
    assert.equal(maskFromBase64("//8A/w=="), undefined, "non-contiguous");
    assert.equal(maskFromBase64("////AA"), undefined, "unpadded");
    assert.throws(() => maskToBase64(4, 33), /does not exist/);
  });

  test("parseCidr requires a network address", () => {
    assert.deepEqual(parseCidr("10.244.1.0/24"), { ip: "10.244.1.0", bits: 24, family: 4, text: "10.244.1.0/24" });
    assert.deepEqual(parseCidr("FD00::/64"), { ip: "fd00::", bits: 64, family: 6, text: "fd00::/64" });
    assert.match((parseCidr("10.244.1.5/24") as { problem: string }).problem, /bits set beyond/);
    assert.match((parseCidr("10.0.0.0/33") as { problem: string }).problem, /from 0 to 32/);
    assert.match((parseCidr("10.0.0.0/08") as { problem: string }).problem, /from 0 to 32/);
    assert.match((parseCidr("10.0.0.0") as { problem: string }).problem, /address\/length/);
  });
});
