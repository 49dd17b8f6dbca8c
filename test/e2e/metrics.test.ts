import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { eventually, freshStart, labLeftovers, trellis } from "./helpers.js";

/**
 * Metrics as a user scrapes them from the admin workstation: the agent on its node IP (:9962),
 * the operator and KVStoreMesh on the control-plane IP (:9963, :9964). Stopping the peer's etcd
 * flips KVStoreMesh's readiness for it to 0 and counts a failure; starting it again brings it back.
 */
const AGENT = "http://198.18.1.11:9962/metrics";
const OPERATOR = "http://198.18.1.2:9963/metrics";
const KVSTOREMESH = "http://198.18.1.2:9964/metrics";

async function scrape(url: string): Promise<string> {
  const r = await fetch(url, { signal: AbortSignal.timeout(3000) });
  assert.equal(r.status, 200, url);
  return r.text();
}

/** The value of the first sample of `name` whose labels include every `labels` pair. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1]!, x[2]!]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe("Prometheus metrics in a connected lab", () => {
  before(() => freshStart());
  after(() => trellis(["lab", "down"], { allowFailure: true }));

  test("a connected 2 × 1 mesh", () => {
    trellis(["lab", "up", "--clusters", "2", "--nodes", "1"]);
    for (const ctx of ["cluster-1", "cluster-2"]) trellis(["clustermesh", "enable", "--context", ctx]);
    trellis(["clustermesh", "connect", "--context", "cluster-1", "--destination-context", "cluster-2"]);
    trellis(["clustermesh", "status", "--context", "cluster-1", "--wait", "--wait-duration", "2m"]);
  });

  test("agent, operator and KVStoreMesh serve their metrics; the peer is ready with its nodes counted", async () => {
    const agent = await eventually("the agent to report cluster-2 ready", async () => {
      const t = await scrape(AGENT);
      return sample(t, "cilium_clustermesh_remote_cluster_readiness_status", { target_cluster: "cluster-2" }) === 1 ? t : undefined;
    }, 60_000, 1000);
    assert.equal(sample(agent, "cilium_clustermesh_remote_clusters", { source_cluster: "cluster-1" }), 1);
    assert.equal(sample(agent, "cilium_clustermesh_remote_cluster_nodes", { target_cluster: "cluster-2" }), 1);
    assert.ok((sample(agent, "trellis_datapath_reconcile_duration_seconds_count", {}) ?? 0) > 0, "datapath reconciles are timed");
    assert.match(await scrape(OPERATOR), /^process_cpu_seconds_total /m);
    const kvm = await eventually("KVStoreMesh to report cluster-2 ready", async () => {
      const t = await scrape(KVSTOREMESH);
      return sample(t, "cilium_kvstoremesh_remote_cluster_readiness_status", { target_cluster: "cluster-2" }) === 1 ? t : undefined;
    }, 60_000, 1000);
    assert.equal(sample(kvm, "cilium_kvstoremesh_remote_cluster_failures", { target_cluster: "cluster-2" }), 0);
  });

  test("the peer's etcd stopped: readiness 0 and a failure counted; started again: ready again", async () => {
    trellis(["lab", "stop", "etcd", "--context", "cluster-2"]);
    try {
      const down = await eventually("KVStoreMesh to report cluster-2 not ready", async () => {
        const t = await scrape(KVSTOREMESH);
        return sample(t, "cilium_kvstoremesh_remote_cluster_readiness_status", { target_cluster: "cluster-2" }) === 0 ? t : undefined;
      }, 90_000, 1000);
      assert.ok((sample(down, "cilium_kvstoremesh_remote_cluster_failures", { target_cluster: "cluster-2" }) ?? 0) >= 1);
      assert.ok((sample(down, "cilium_kvstoremesh_remote_cluster_last_failure_ts", { target_cluster: "cluster-2" }) ?? 0) > Date.now() / 1000 - 300);
    } finally {
      trellis(["lab", "start", "etcd", "--context", "cluster-2"]);
    }
    await eventually("KVStoreMesh to report cluster-2 ready again", async () => sample(await scrape(KVSTOREMESH), "cilium_kvstoremesh_remote_cluster_readiness_status", { target_cluster: "cluster-2" }) === 1, 90_000, 1000);
  });

  test("lab down leaves nothing behind", () => {
    trellis(["lab", "down"]);
    assert.deepEqual(labLeftovers(), []);
  });
});
