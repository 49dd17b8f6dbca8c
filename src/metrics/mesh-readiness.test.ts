import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test, type TestContext } from "node:test";
import { Agent } from "../agent/agent.js";
import { validateClusterInfo } from "../cluster/index.js";
import { KvStoreMesh } from "../clustermesh/kvstoremesh/kvstoremesh.js";
import { addMeshPeer } from "../clustermesh/mesh-secret.js";
import { publishCluster } from "../clustermesh/testing/remote-state.js";
import { RecordingDatapath } from "../datapath/fake/recording-datapath.js";
import { EtcdStore } from "../kvstore/etcd-store.js";
import { EtcdProcess, waitFor } from "../kvstore/testing/index.js";
import { keys } from "../resources/keys.js";
import { AgentMetrics } from "./agent-metrics.js";
import { KvStoreMeshMetrics } from "./kvstoremesh-metrics.js";
import { serveMetrics } from "./serve.js";
import { samplesOf, scrape, valueOf, type Sample } from "./testing/exposition.js";
import { testClusterSettings } from "../resources/testing/cluster-settings.js";

/**
 * The acceptance test of the metrics: real etcd for the local cluster and for a peer, the agent
 * and KVStoreMesh serving metrics over HTTP, scraped as Prometheus would; the peer's etcd is
 * stopped and started again, and the readiness each scrape shows follows.
 */

const settings = testClusterSettings();
const c2 = { name: "cluster-2", id: 2 };

/** Scrapes until `condition` holds for what was scraped; returns that scrape. */
async function scrapeUntil(url: string, what: string, condition: (s: Sample[]) => boolean, timeoutMs: number): Promise<Sample[]> {
  let last: Sample[] = [];
  await waitFor(what, async () => condition((last = await scrape(url))), timeoutMs, 200);
  return last;
}

describe("metrics scraped over HTTP follow a peer's etcd going away and coming back", () => {
  let localEtcd: EtcdProcess;
  let peerEtcd: EtcdProcess;
  before(async () => {
    [localEtcd, peerEtcd] = await Promise.all([EtcdProcess.start({ name: "local" }), EtcdProcess.start({ name: "peer" })]);
    const peerAdmin = new EtcdStore(peerEtcd.config());
    const localAdmin = new EtcdStore(localEtcd.config());
    try {
      // cluster-2 runs: its operator and agents have published their state and canaries.
      await publishCluster(peerAdmin, c2);
      await localAdmin.put(keys.clusterSettings(), JSON.stringify(settings));
      await localAdmin.put(keys.nodeCIDR("node-1"), JSON.stringify({ podCIDR: "100.65.0.0/24" }));
      // `clustermesh connect`, without KVStoreMesh: the agent reads cluster-2's etcd directly.
      await addMeshPeer(localAdmin, { name: c2.name, endpoints: [peerEtcd.endpoint] });
    } finally {
      await Promise.all([peerAdmin.close(), localAdmin.close()]);
    }
  });
  after(async () => {
    await Promise.all([localEtcd?.cleanup(), peerEtcd?.cleanup()]);
  });

  /** Stops the peer's etcd, waits for `ready` to read 0, starts it again, and waits for 1. */
  async function stopAndRestartPeer(url: string, ready: (s: Sample[]) => number | undefined, failures: (s: Sample[]) => number | undefined, lastFailure: (s: Sample[]) => number | undefined): Promise<void> {
    const stoppedAt = Date.now() / 1000;
    await peerEtcd.stop();
    const down = await scrapeUntil(url, "readiness 0 once the peer's etcd is stopped", (s) => ready(s) === 0, 20_000);
    assert.ok(failures(down)! >= 1, `failures counted (${failures(down)})`);
    const ts = lastFailure(down)!;
    assert.ok(ts >= stoppedAt && ts <= Date.now() / 1000, `last failure at ${ts}, after the stop at ${stoppedAt}`);

    await peerEtcd.restart();
    const up = await scrapeUntil(url, "readiness 1 once the peer's etcd is back", (s) => ready(s) === 1, 30_000);
    assert.ok(failures(up)! >= failures(down)!, "failures never go down");
    assert.equal(lastFailure(up)! >= ts, true);
  }

  test("the agent: cilium_clustermesh_remote_cluster_readiness_status flips to 0 and back to 1", async (t: TestContext) => {
    const metrics = new AgentMetrics();
    const store = new EtcdStore(localEtcd.config(), { observe: metrics.observeKvstore });
    const dir = mkdtempSync(join(tmpdir(), "trellis-metrics-agent-"));
    const server = (await serveMetrics(metrics.registry, "127.0.0.1:0"))!;
    const agent = new Agent({ store, nodeName: "node-1", nodeIP: "198.18.1.11", uplink: "lo", stateDir: dir, datapath: new RecordingDatapath(), metrics });
    t.after(async () => {
      await agent.stop();
      await server.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    await agent.start();

    const peer = { source_cluster: "cluster-1", source_node_name: "node-1", target_cluster: "cluster-2" };
    const ready = (s: Sample[]) => valueOf(s, "cilium_clustermesh_remote_cluster_readiness_status", peer);
    const s = await scrapeUntil(server.url, "cluster-2 ready", (x) => ready(x) === 1, 20_000);
    assert.equal(valueOf(s, "cilium_clustermesh_remote_clusters", { source_cluster: "cluster-1", source_node_name: "node-1" }), 1);
    assert.equal(valueOf(s, "cilium_clustermesh_remote_cluster_nodes", peer), 1);
    assert.equal(valueOf(s, "cilium_clustermesh_remote_cluster_endpoints", peer), 1);
    assert.equal(valueOf(s, "trellis_clustermesh_remote_cluster_identities", peer), 1);
    assert.equal(valueOf(s, "trellis_clustermesh_remote_cluster_services", peer), 1);
    assert.equal(valueOf(s, "cilium_clustermesh_remote_cluster_failures", peer), 0);
    assert.equal(valueOf(s, "cilium_clustermesh_remote_cluster_last_failure_ts", peer), 0);
    assert.equal(valueOf(s, "cilium_kvstore_initial_sync_completed", { scope: "nodes/v1", source_cluster: "cluster-2", action: "read" }), 1);
    assert.ok(valueOf(s, "trellis_kvstore_initial_sync_seconds", { scope: "services/v1", source_cluster: "cluster-2" })! > 0);
    // The agent's own requests to its etcd, and its reconciles of the (recording) datapath.
    assert.ok(samplesOf(s, "cilium_kvstore_operations_duration_seconds_count", { scope: "trellis/config", kind: "get", outcome: "success" }).length === 1);
    assert.ok(valueOf(s, "trellis_datapath_reconcile_duration_seconds_count", { outcome: "success" })! >= 1);

    await stopAndRestartPeer(
      server.url,
      ready,
      (x) => valueOf(x, "cilium_clustermesh_remote_cluster_failures", peer),
      (x) => valueOf(x, "cilium_clustermesh_remote_cluster_last_failure_ts", peer),
    );
  });

  test("KVStoreMesh: cilium_kvstoremesh_remote_cluster_readiness_status flips to 0 and back to 1", async (t: TestContext) => {
    const metrics = new KvStoreMeshMetrics();
    const store = new EtcdStore(localEtcd.config(), { observe: metrics.observeKvstore });
    const server = (await serveMetrics(metrics.registry, "127.0.0.1:0"))!;
    const mesh = new KvStoreMesh({ local: validateClusterInfo({ name: "cluster-1", id: 1 }), store });
    metrics.attach(mesh, "cluster-1");
    t.after(async () => {
      await mesh.stop();
      await server.close();
      await store.close();
    });
    mesh.start();

    const peer = { source_cluster: "cluster-1", target_cluster: "cluster-2" };
    const ready = (s: Sample[]) => valueOf(s, "cilium_kvstoremesh_remote_cluster_readiness_status", peer);
    const s = await scrapeUntil(server.url, "cluster-2 cached", (x) => ready(x) === 1, 20_000);
    assert.equal(valueOf(s, "trellis_kvstoremesh_remote_cluster_nodes", peer), 1);
    assert.equal(valueOf(s, "cilium_kvstoremesh_kvstore_initial_sync_completed", { scope: "ip/v1", source_cluster: "cluster-2", action: "write" }), 1);
    assert.ok(valueOf(s, "cilium_kvstoremesh_kvstore_operations_duration_seconds_count", { scope: "nodes/v1", kind: "txn", outcome: "success" })! >= 1, "the cache written to the local etcd");

    await stopAndRestartPeer(
      server.url,
      ready,
      (x) => valueOf(x, "cilium_kvstoremesh_remote_cluster_failures", peer),
      (x) => valueOf(x, "cilium_kvstoremesh_remote_cluster_last_failure_ts", peer),
    );
  });
});
