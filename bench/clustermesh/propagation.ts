/**
 * Endpoint-change propagation: ipcache entries put into the source cluster's etcd at a steady
 * rate, as that cluster's agents publish their pods, until a reader in the target cluster gets
 * each one in its endpoints handler. Each entry is a new pod IP, so every put is a change the
 * reader must pass on.
 */
import { identityOf } from "../../src/clustermesh/testing/index.js";
import type { ClusterInfo } from "../../src/cluster/index.js";
import type { KvStore } from "../../src/kvstore/index.js";
import { encodeIpcache, ipcacheKey } from "../../src/state/index.js";
import { paced, summarize, type ChangeTimes, type LatencySummary } from "./change-times.js";
import type { MeshPath } from "./mesh-readers.js";

export type EndpointStage = "acked" | "handled";

/** Fresh pod IPs of one cluster, from its pod range 100.(64+id).0.0/16, never one twice. */
export class PodIps {
  private next = 0;

  constructor(readonly cluster: ClusterInfo) {}

  take(): string {
    if (this.next > 65_535) throw new Error(`cluster ${this.cluster.name}: all 65,536 pod IPs of 100.${64 + this.cluster.id}.0.0/16 are used`);
    const offset = this.next++;
    return `100.${64 + this.cluster.id}.${offset >> 8}.${offset & 255}`;
  }
}

/** One round at one rate: milliseconds from each put to etcd's answer and to the reader's handler. */
export interface PropagationSamples {
  readonly issuedRate: number;
  readonly acked: readonly number[];
  readonly handled: readonly number[];
}

/**
 * Puts `count` new ipcache entries of `ips.cluster` into `writer` at `rate` per second and waits
 * until `times` has every one in stage "handled" (the reader's handler marks it by IP).
 */
export async function propagate(
  writer: KvStore,
  ips: PodIps,
  times: ChangeTimes<EndpointStage>,
  options: { rate: number; count: number; timeoutMs?: number },
): Promise<PropagationSamples> {
  const source = ips.cluster;
  const identity = identityOf(source, 1);
  const hostIp = `198.18.${source.id}.11`;
  const puts: Promise<unknown>[] = [];
  const failures: Error[] = [];
  const run = await paced(options.count, options.rate, () => {
    const ip = ips.take();
    const value = encodeIpcache({ ip, identity, hostIp, k8sNamespace: "default", k8sPodName: `bench-${ip.replaceAll(".", "-")}` });
    times.start(ip);
    puts.push(
      writer.put(ipcacheKey(ip), value).then(
        () => times.mark(ip, "acked"),
        (e: unknown) => void failures.push(e as Error),
      ),
    );
  });
  await Promise.all(puts);
  if (failures.length) throw new Error(`${failures.length} of ${options.count} puts into ${source.name}'s etcd failed; first: ${failures[0]!.message}`);
  await times.waitComplete("handled", options.timeoutMs ?? 60_000);
  return { issuedRate: run.rate, acked: times.latencies("acked"), handled: times.latencies("handled") };
}

export interface PropagationResult {
  readonly path: MeshPath;
  /** Changes per second asked for. */
  readonly rate: number;
  /** The lowest rate a round actually issued at (timers fire late on a busy machine). */
  readonly issuedRate: number;
  readonly rounds: number;
  /** Put issued → etcd acknowledged it. */
  readonly acked: LatencySummary;
  /** Put issued → the reader's endpoints handler got it. */
  readonly handled: LatencySummary;
}

export function summarizePropagation(path: MeshPath, rate: number, rounds: readonly PropagationSamples[]): PropagationResult {
  return {
    path,
    rate,
    issuedRate: Math.min(...rounds.map((r) => r.issuedRate)),
    rounds: rounds.length,
    acked: summarize(rounds.flatMap((r) => r.acked)),
    handled: summarize(rounds.flatMap((r) => r.handled)),
  };
}
