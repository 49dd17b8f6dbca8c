import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseIperfResult } from "./iperf.js";

describe("parseIperfResult", () => {
  test("reads the received rate in Gbit/s and the sender's retransmissions", () => {
    const json = JSON.stringify({ end: { sum_sent: { bits_per_second: 12.9e9, retransmits: 164 }, sum_received: { bits_per_second: 12.5e9 } } });
    assert.deepEqual(parseIperfResult(json, "a -> b"), { gbps: 12.5, retransmits: 164 });
  });

  test("iperf3's own error comes through, naming the pair", () => {
    // What iperf 3.12 prints with -J when it cannot connect.
    const json = '{"start":{"connected":[],"version":"iperf 3.12"},"intervals":[],"end":{},"error":"unable to connect to server: Network is unreachable"}';
    assert.throws(() => parseIperfResult(json, "100.127.1.10 -> 100.127.2.10"), /iperf3 100\.127\.1\.10 -> 100\.127\.2\.10: unable to connect to server: Network is unreachable/);
  });

  test("output that is not JSON, or has no rate, is an error rather than a zero", () => {
    assert.throws(() => parseIperfResult("iperf3: error - some failure", "a -> b"), /output is not JSON: iperf3: error/);
    assert.throws(() => parseIperfResult('{"end":{"sum_received":{}}}', "a -> b"), /no received throughput/);
  });
});
