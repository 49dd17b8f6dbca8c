import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CniError, decodeResult, encodeError, encodeResult, encodeVersion, ErrorCode, type CniResult } from "./result.js";

const result: CniResult = {
  cniVersion: "1.1.0",
  interfaces: [
    { name: "trl0123456789a", mac: "aa:bb:cc:00:00:01", mtu: 1450 },
    { name: "eth0", mac: "aa:bb:cc:00:00:02", mtu: 1450, sandbox: "/var/run/netns/pod1" },
  ],
  ips: [{ address: "100.64.7.2/32", gateway: "100.64.7.1", interface: 1 }],
  routes: [{ dst: "0.0.0.0/0", gw: "100.64.7.1" }],
  dns: {},
};

describe("CNI result JSON", () => {
  test("1.1.0 carries interface MTU; 1.0.0 does not; 0.4.0 adds the IP version", () => {
    const v11 = encodeResult(result, "1.1.0") as { interfaces: { mtu?: number }[] };
    assert.equal(v11.interfaces[1]?.mtu, 1450);
    const v10 = encodeResult(result, "1.0.0") as { cniVersion: string; interfaces: { mtu?: number }[]; ips: { version?: string }[] };
    assert.equal(v10.cniVersion, "1.0.0");
    assert.equal(v10.interfaces[1]?.mtu, undefined);
    assert.equal(v10.ips[0]?.version, undefined);
    const v04 = encodeResult(result, "0.4.0") as { ips: { version?: string; interface?: number }[] };
    assert.deepEqual(v04.ips[0], { version: "4", address: "100.64.7.2/32", gateway: "100.64.7.1", interface: 1 });
  });

  test("a printed result reads back as the same result (CHECK and DEL get it as prevResult)", () => {
    const printed = JSON.parse(JSON.stringify(encodeResult(result, "0.4.0"))) as unknown;
    const back = decodeResult(printed, "0.4.0");
    assert.deepEqual(back.ips, result.ips);
    assert.deepEqual(back.routes, result.routes);
    assert.deepEqual(back.interfaces.map((i) => i.name), ["trl0123456789a", "eth0"]);
  });

  test("a malformed prevResult is invalid configuration, naming the field", () => {
    assert.throws(() => decodeResult({ ips: [{ address: 5 }] }, "1.0.0"), (e: Error) => e instanceof CniError && e.code === ErrorCode.InvalidConfig && /ips\[0\]\.address is 5/.test(e.message));
    assert.throws(() => decodeResult("x", "1.0.0"), /not a JSON object/);
  });

  test("VERSION and error objects have the spec's keys", () => {
    assert.deepEqual(encodeVersion("1.0.0"), { cniVersion: "1.0.0", supportedVersions: ["0.4.0", "1.0.0", "1.1.0"] });
    assert.deepEqual(encodeError(new CniError(ErrorCode.TryAgainLater, "agent down", "retry"), "1.0.0"), { cniVersion: "1.0.0", code: 11, msg: "agent down", details: "retry" });
    assert.deepEqual(encodeError(new CniError(ErrorCode.InvalidConfig, "bad"), "1.1.0"), { cniVersion: "1.1.0", code: 7, msg: "bad" });
  });
});
