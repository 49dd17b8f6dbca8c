import assert from "node:assert/strict";
import { test } from "node:test";
import type { Action } from "./plan.js";
import { classify, excerpt, probeCommand } from "./probe.js";

const http: Action = {
  id: "pod-to-pod-same-node/http-0",
  test: "pod-to-pod-same-node",
  source: { kind: "pod", name: "trellis-test/client-1", ip: "100.65.0.4", netns: "ns" },
  destination: { name: "trellis-test/echo-1", ip: "100.65.0.3", port: 80 },
  protocol: "http",
  expect: "success",
  answeredBy: { pod: "echo-1" },
};
const icmp: Action = { ...http, id: "x/icmp-0", protocol: "icmp", destination: { name: "echo-1", ip: "100.65.0.3" }, answeredBy: undefined };
const r = (code: number, stdout = "", stderr = "") => ({ code, stdout, stderr });

test("probe commands: one ping, one curl with a short timeout", () => {
  assert.deepEqual(probeCommand(icmp), ["ping", "-n", "-c", "1", "-W", "3", "100.65.0.3"]);
  assert.deepEqual(probeCommand(http), ["curl", "-sS", "--connect-timeout", "3", "-m", "5", "http://100.65.0.3:80/"]);
});

test("ping: 0 is success, 1 (no reply) is a drop, anything else an error", () => {
  assert.equal(classify(icmp, r(0)).outcome, "success");
  assert.equal(classify(icmp, r(1)).outcome, "drop");
  assert.equal(classify(icmp, r(2, "", "ping: bad address")).outcome, "error");
});

test("curl: a timeout is a drop, a refusal is not", () => {
  assert.equal(classify(http, r(28)).outcome, "drop");
  assert.equal(classify(http, r(7)).outcome, "refused");
  assert.equal(classify(http, r(6)).outcome, "error");
});

test("an HTTP answer counts only when the intended pod or cluster sent it", () => {
  assert.equal(classify(http, r(0, '{"pod":"echo-1","cluster":"cluster-1"}\n')).outcome, "success");
  const wrong = classify(http, r(0, '{"pod":"echo-2","cluster":"cluster-1"}\n'));
  assert.equal(wrong.outcome, "wrong-backend");
  assert.match(wrong.detail!, /answered by pod echo-2, expected echo-1/);
  const remote = { ...http, answeredBy: { cluster: "cluster-2" } };
  assert.equal(classify(remote, r(0, '{"pod":"echo-9","cluster":"cluster-2"}')).outcome, "success");
  assert.match(classify(remote, r(0, '{"pod":"echo-1","cluster":"cluster-1"}')).detail!, /answered by cluster-1\/echo-1, expected a pod of cluster-2/);
  assert.equal(classify(remote, r(0, "<html>")).outcome, "wrong-backend");
});

test("excerpt keeps output on one line and short", () => {
  assert.equal(excerpt("a\n  b\n"), "a | b");
  assert.equal(excerpt("x".repeat(300)).length, 201);
});
