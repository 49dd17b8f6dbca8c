import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { noFragmentation, parseSnmpIp, type FragmentationResult } from "./fragmentation.js";

describe("parseSnmpIp", () => {
  test("pairs the Ip: header line with its values", () => {
    const text = [
      "Ip: Forwarding DefaultTTL InReceives ReasmReqds ReasmOKs FragOKs FragFails FragCreates",
      "Ip: 1 64 2101 3 1 0 0 6",
      "Icmp: InMsgs InErrors",
      "Icmp: 5 0",
    ].join("\n");
    const ip = parseSnmpIp(text);
    assert.equal(ip.ReasmReqds, 3);
    assert.equal(ip.FragCreates, 6);
    assert.equal(ip.InMsgs, undefined);
  });

  test("a file without the two Ip: lines is an error naming what it saw", () => {
    assert.throws(() => parseSnmpIp("Icmp: InMsgs\nIcmp: 5\n"), /unexpected \/proc\/net\/snmp format/);
  });
});

describe("noFragmentation verdict", () => {
  const zero = { FragCreates: 0, FragFails: 0, ReasmReqds: 0 };
  const good: FragmentationResult = {
    podMtu: 1450,
    atMtu: { payload: 1422, ok: true, message: "3 packets transmitted, 3 received" },
    overMtu: { payload: 1423, ok: false, message: "ping: local error: message too long, mtu=1450" },
    vxlanFrames: 1000,
    fabricFragments: 0,
    snmp: { "node 1": zero, "node 2": zero },
    vxlan: { "node 1": { txPackets: 500, errors: 0, txDropped: 7 } },
    control: { payload: 3000, fabricFragments: 6, reassemblies: 3 },
  };

  test("passes when full-size packets cross, one byte more is refused and nothing fragments", () => {
    assert.deepEqual(noFragmentation(good), { pass: true, countersLive: true });
  });

  test("fails on a fragment on the fabric, a reassembly on a node, or an oversized ping that got through", () => {
    assert.equal(noFragmentation({ ...good, fabricFragments: 2 }).pass, false);
    assert.equal(noFragmentation({ ...good, snmp: { ...good.snmp, "node 2": { ...zero, ReasmReqds: 1 } } }).pass, false);
    assert.equal(noFragmentation({ ...good, overMtu: { payload: 1423, ok: true, message: "1 received" } }).pass, false);
    assert.equal(noFragmentation({ ...good, atMtu: { payload: 1422, ok: false, message: "100% packet loss" } }).pass, false);
  });

  test("counters the control ping did not move make the result inconclusive, not a pass", () => {
    assert.deepEqual(noFragmentation({ ...good, control: { payload: 3000, fabricFragments: 0, reassemblies: 0 } }), { pass: false, countersLive: false });
  });
});
