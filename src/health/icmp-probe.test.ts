import assert from "node:assert/strict";
import { test } from "node:test";
import { ICMP_TIMEOUT_MESSAGE, parsePingRtt, pingFailureReason, pingOnce } from "./icmp-probe.js";

test("the RTT comes from ping's summary line, else from the reply line", () => {
  const quiet = "PING 198.18.1.11 (198.18.1.11) 56(84) bytes of data.\n\n--- 198.18.1.11 ping statistics ---\n1 packets transmitted, 1 received, 0% packet loss, time 0ms\nrtt min/avg/max/mdev = 0.585/0.585/0.585/0.000 ms\n";
  assert.equal(parsePingRtt(quiet), 0.585);
  assert.equal(parsePingRtt("64 bytes from 198.18.1.11: icmp_seq=1 ttl=64 time=12.3 ms\n"), 12.3);
  assert.equal(parsePingRtt("1 packets transmitted, 0 received, 100% packet loss, time 0ms\n"), undefined);
});

test("ping's own reason is kept when it could not send at all", () => {
  assert.equal(pingFailureReason("ping: connect: Network is unreachable\n"), "Network is unreachable");
  assert.equal(pingFailureReason(""), undefined);
});

test("loopback answers, with a positive RTT", async () => {
  const out = await pingOnce("127.0.0.1", { timeoutMs: 2000 });
  assert.equal(out.ok, true, out.error);
  assert.ok(out.rttMs! > 0);
});

test("a missing ping binary is an actionable error, not a crash", async () => {
  const out = await pingOnce("127.0.0.1", { timeoutMs: 500, command: "trellis-no-such-ping" });
  assert.deepEqual(out, { ok: false, error: "trellis-no-such-ping is not installed (Debian: apt-get install iputils-ping)" });
  assert.notEqual(out.error, ICMP_TIMEOUT_MESSAGE);
});
