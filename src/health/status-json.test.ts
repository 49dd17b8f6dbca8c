import assert from "node:assert/strict";
import { test } from "node:test";
import { healthStatusJson } from "./status-json.js";
import type { HealthReport } from "./types.js";

test("-o json: Cilium's HealthStatusResponse shape, latencies in ns, failures as status, plus summary and hints", () => {
  const report: HealthReport = {
    probeTime: "2024-05-01T10:00:00.500Z",
    durationMs: 3,
    intervalMs: 60_000,
    nodes: [
      {
        cluster: "cluster-2",
        node: "node-1",
        local: false,
        host: { ip: "198.18.2.11", icmp: { ok: true, rttMs: 1.659939 }, http: { ok: false, error: "Get \"http://198.18.2.11:4240/hello\": context deadline exceeded" } },
        lastProbed: "2024-05-01T10:00:00.501Z",
      },
      {
        cluster: "cluster-1",
        node: "node-1",
        local: true,
        host: { ip: "198.18.1.11", icmp: { ok: true, rttMs: 0.585908 }, http: { ok: true, rttMs: 0.386343 } },
        endpoint: { ip: "100.65.0.2", icmp: { ok: true, rttMs: 0.563934 }, http: { ok: true, rttMs: 0.684559 } },
        lastProbed: "2024-05-01T10:00:00.502Z",
      },
    ],
  };
  const lp1 = "2024-05-01T10:00:00.502Z";
  const lp2 = "2024-05-01T10:00:00.501Z";
  assert.deepEqual(JSON.parse(JSON.stringify(healthStatusJson(report))), {
    timestamp: "2024-05-01T10:00:00Z",
    probeInterval: "1m0s",
    local: { name: "cluster-1/node-1" },
    summary: { reachable: 1, total: 2 },
    nodes: [
      {
        name: "cluster-1/node-1",
        cluster: "cluster-1",
        node: "node-1",
        local: true,
        healthy: true,
        host: { "primary-address": { ip: "198.18.1.11", icmp: { latency: 585908, lastProbed: lp1 }, http: { latency: 386343, lastProbed: lp1 } } },
        "health-endpoint": { "primary-address": { ip: "100.65.0.2", icmp: { latency: 563934, lastProbed: lp1 }, http: { latency: 684559, lastProbed: lp1 } } },
      },
      {
        name: "cluster-2/node-1",
        cluster: "cluster-2",
        node: "node-1",
        local: false,
        healthy: false,
        host: {
          "primary-address": {
            ip: "198.18.2.11",
            icmp: { latency: 1659939, lastProbed: lp2 },
            http: { status: "Get \"http://198.18.2.11:4240/hello\": context deadline exceeded", lastProbed: lp2 },
          },
        },
      },
    ],
    hints: [
      {
        node: "cluster-2/node-1",
        code: "tcp-4240-blocked",
        message: "ICMP to 198.18.2.11 works but HTTP to 198.18.2.11:4240 does not: TCP 4240 may be blocked between the nodes",
      },
    ],
  });
});
