import assert from "node:assert/strict";
import { test } from "node:test";
import { diagnose } from "./diagnose.js";
import type { PathResult, ProbeOutcome, TargetResult } from "./types.js";

const OK: ProbeOutcome = { ok: true, rttMs: 1 };
const TIMEOUT: ProbeOutcome = { ok: false, error: "Connection timed out" };
const HTTP_TIMEOUT: ProbeOutcome = { ok: false, error: 'Get "http://x:4240/hello": context deadline exceeded (Client.Timeout exceeded while awaiting headers)' };
const REFUSED: ProbeOutcome = { ok: false, error: 'Get "http://x:4240/hello": dial tcp x:4240: connect: connection refused' };

function path(ip: string, icmp: ProbeOutcome, http: ProbeOutcome): PathResult {
  return { ip, icmp, http };
}

function remote(host: PathResult, endpoint?: PathResult): TargetResult {
  return { cluster: "cluster-2", node: "node-1", local: false, host, ...(endpoint ? { endpoint } : {}), lastProbed: "2024-05-01T10:00:00Z" };
}

const codes = (nodes: TargetResult[], mode?: "tunnel" | "native") => diagnose(nodes, mode ? { datapathMode: mode } : {}).map((h) => h.code);

test("a healthy node gives no hint", () => {
  assert.deepEqual(codes([remote(path("198.18.2.11", OK, OK), path("100.66.0.2", OK, OK))]), []);
});

test("ICMP to a remote node works but HTTP to 4240 times out: TCP 4240 may be blocked", () => {
  const [hint] = diagnose([remote(path("198.18.2.11", OK, HTTP_TIMEOUT))]);
  assert.equal(hint?.code, "tcp-4240-blocked");
  assert.equal(hint?.node, "cluster-2/node-1");
  assert.match(hint!.message, /TCP 4240 may be blocked between the nodes/);
});

test("connection refused is not a firewall: nothing listens, the agent is probably down", () => {
  assert.deepEqual(codes([remote(path("198.18.2.11", OK, REFUSED))]), ["agent-not-answering"]);
});

test("host path fine, endpoint path dead: UDP 8472 in tunnel mode, pod routes in native mode", () => {
  const n = remote(path("198.18.2.11", OK, OK), path("100.66.0.2", TIMEOUT, HTTP_TIMEOUT));
  const [tunnel] = diagnose([n]);
  assert.equal(tunnel?.code, "udp-8472-blocked");
  assert.match(tunnel!.message, /UDP 8472 \(VXLAN\) may be blocked between the nodes/);
  assert.deepEqual(codes([n], "native"), ["pod-routes-missing"]);
});

test("a dead endpoint behind a dead host is reported once, as the host", () => {
  assert.deepEqual(codes([remote(path("198.18.2.11", TIMEOUT, HTTP_TIMEOUT), path("100.66.0.2", TIMEOUT, HTTP_TIMEOUT))]), ["node-unreachable"]);
});

test("an endpoint that pings but does not answer HTTP points at its responder", () => {
  assert.deepEqual(codes([remote(path("198.18.2.11", OK, OK), path("100.66.0.2", OK, REFUSED))]), ["responder-not-answering"]);
});

test("on the local node: its own health server and its own endpoint", () => {
  const local: TargetResult = { ...remote(path("198.18.1.11", OK, REFUSED), path("100.65.0.2", TIMEOUT, HTTP_TIMEOUT)), local: true };
  assert.deepEqual(codes([local]), ["agent-not-answering", "endpoint-unreachable"]);
});
