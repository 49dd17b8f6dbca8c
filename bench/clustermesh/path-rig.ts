/**
 * One path from cluster-1 to a reader in cluster-2, on its own pair of etcds: cluster-1's agents
 * write through their own client (`admin-cluster-1`), and the reader in cluster-2 hands what it
 * gets to whichever measurement is running. Two rigs, one per path, live side by side so that
 * the benchmark can alternate between them round by round and a busy spell on the machine hits
 * both paths alike.
 */
import type { ClusterMeshHandlers } from "../../src/clustermesh/index.js";
import { EtcdStore } from "../../src/kvstore/index.js";
import type { ChangeTimes } from "./change-times.js";
import { startMeshClusters, stopMeshClusters, type MeshCluster } from "./mesh-cluster.js";
import { openPath, type MeshPath, type MeshReader } from "./mesh-readers.js";
import type { NodeRouteProbe, NodeRouteSamples } from "./node-routes.js";
import { PodIps, propagate, type EndpointStage, type PropagationSamples } from "./propagation.js";

export class PathRig {
  private endpointTimes: ChangeTimes<EndpointStage> | undefined;
  private probe: NodeRouteProbe | undefined;
  private nextNode = 1;
  private readonly ips: PodIps;

  private constructor(
    readonly path: MeshPath,
    readonly source: MeshCluster,
    readonly target: MeshCluster,
    private readonly writer: EtcdStore,
    private reader: MeshReader | undefined,
  ) {
    this.ips = new PodIps(source.info);
  }

  /** Starts cluster-1 and cluster-2 and the path between them; resolves once the reader is ready. */
  static async open(path: MeshPath): Promise<PathRig> {
    const [source, target] = await startMeshClusters(2);
    const rig = new PathRig(path, source!, target!, new EtcdStore(source!.admin), undefined);
    try {
      rig.reader = await openPath(path, rig.target, [rig.source], rig.handlers());
    } catch (e) {
      await rig.close();
      throw e;
    }
    return rig;
  }

  /** One round of `count` new endpoints at `rate` per second. */
  async endpoints(rate: number, count: number, times: ChangeTimes<EndpointStage>): Promise<PropagationSamples> {
    this.endpointTimes = times;
    try {
      return await propagate(this.writer, this.ips, times, { rate, count });
    } finally {
      this.endpointTimes = undefined;
    }
  }

  /** One round of `count` new cluster-1 nodes, one every `intervalMs`, into `probe`'s kernel. */
  async nodes(probe: NodeRouteProbe, count: number, intervalMs: number): Promise<NodeRouteSamples> {
    this.probe = probe;
    try {
      const first = this.nextNode;
      this.nextNode += count;
      return await probe.measure(this.writer, this.source, { count, intervalMs, first });
    } finally {
      this.probe = undefined;
    }
  }

  async close(): Promise<void> {
    try {
      await this.reader?.stop();
      await this.writer.close();
    } finally {
      await stopMeshClusters([this.source, this.target]);
    }
  }

  private handlers(): ClusterMeshHandlers {
    return {
      endpoints: { upsert: (_cluster, record) => this.endpointTimes?.mark(record.ip, "handled") },
      nodes: { upsert: (cluster, record) => this.probe?.onNode(cluster, record) },
    };
  }
}

/** Opens a rig per path, all or none. */
export async function openRigs(paths: readonly MeshPath[]): Promise<PathRig[]> {
  const rigs: PathRig[] = [];
  try {
    for (const path of paths) rigs.push(await PathRig.open(path));
  } catch (e) {
    await closeRigs(rigs);
    throw e;
  }
  return rigs;
}

export async function closeRigs(rigs: readonly PathRig[]): Promise<void> {
  const results = await Promise.allSettled(rigs.map((r) => r.close()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}
