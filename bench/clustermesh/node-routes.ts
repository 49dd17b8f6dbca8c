/**
 * Node-to-route latency: a node record put into the source cluster's etcd, until the route to
 * that node's pod CIDR is in the kernel of a node of the target cluster. The target node is a
 * network namespace with an uplink (a veth pair, 198.18.250.11/24) programmed in tunnel mode by
 * LinuxDatapath, driven the way the agent drives it: remote node records go into the agent's
 * NodeCache and each change asks the agent's DatapathController for a reconcile (bursts are
 * coalesced into one). Three stages are timed per node: the reader's handler got the record, a
 * reconcile that started after it finished, and `ip -j route show proto 116` listed the route.
 */
import { DatapathController } from "../../src/agent/datapath-controller.js";
import { NodeCache } from "../../src/agent/node-cache.js";
import { nodeEntry } from "../../src/clustermesh/testing/index.js";
import { LinuxDatapath } from "../../src/datapath/linux/linux-datapath.js";
import type { DesiredNodeState, LocalNode, ReconcileReport } from "../../src/datapath/types.js";
import type { KvStore } from "../../src/kvstore/index.js";
import type { NodeRecord } from "../../src/state/index.js";
import { run } from "../../src/util/exec.js";
import { ChangeTimes, sleepUntil, summarize, type LatencySummary } from "./change-times.js";
import type { MeshCluster } from "./mesh-cluster.js";
import { quietLogger, type MeshPath } from "./mesh-readers.js";

export type NodeStage = "handled" | "reconciled" | "kernel";

/** One round of node additions: milliseconds from each put to each stage. */
export interface NodeRouteSamples {
  readonly handled: readonly number[];
  readonly reconciled: readonly number[];
  readonly kernel: readonly number[];
  /** Duration of each reconcile the round's nodes waited for (fewer than nodes when changes were coalesced). */
  readonly reconcileMs: readonly number[];
  /** Times between two kernel polls: how late "kernel" may be. */
  readonly pollPeriods: readonly number[];
}

export interface NodeRouteResult {
  readonly path: MeshPath;
  readonly nodes: number;
  readonly handled: LatencySummary;
  readonly reconciled: LatencySummary;
  readonly kernel: LatencySummary;
  /** How long one reconcile of the node took (reading the kernel, applying the difference). */
  readonly reconcile: LatencySummary;
  /** Median time between two kernel polls. */
  readonly pollMs: number;
}

export function summarizeNodeRounds(path: MeshPath, rounds: readonly NodeRouteSamples[]): NodeRouteResult {
  const all = (pick: (r: NodeRouteSamples) => readonly number[]) => rounds.flatMap(pick);
  return {
    path,
    nodes: all((r) => r.kernel).length,
    handled: summarize(all((r) => r.handled)),
    reconciled: summarize(all((r) => r.reconciled)),
    kernel: summarize(all((r) => r.kernel)),
    reconcile: summarize(all((r) => r.reconcileMs)),
    pollMs: summarize(all((r) => r.pollPeriods)).p50,
  };
}

const UPLINK_ADDRESS = "198.18.250.11";
const KERNEL_TIMEOUT_MS = 30_000;
const POLL_GAP_MS = 10;

/** Route destinations from `ip -j route show` output. */
export function routeDestinations(json: string): string[] {
  const text = json.trim();
  if (!text) return [];
  let routes: unknown;
  try {
    routes = JSON.parse(text);
  } catch {
    throw new Error(`ip -j route show printed something that is not JSON: ${text.slice(0, 200)}`);
  }
  if (!Array.isArray(routes)) throw new Error(`ip -j route show printed ${typeof routes}, expected a list of routes`);
  return routes.flatMap((r: { dst?: unknown }) => (typeof r?.dst === "string" ? [r.dst] : []));
}

/** Cilium's `default` and iproute2's bare addresses both mean one prefix length: make them comparable. */
function withLength(dst: string): string {
  return dst.includes("/") ? dst : `${dst}/32`;
}

/** A node of `target` in namespace `netns`, programmed from remote node records handed to onNode(). */
export class NodeRouteProbe {
  private readonly nodes = new NodeCache();
  private readonly controller: DatapathController;
  private readonly local: LocalNode;
  private times: ChangeTimes<NodeStage> | undefined;
  private reports: Set<ReconcileReport> | undefined;
  private problems: string[] = [];

  private constructor(
    readonly netns: string,
    target: MeshCluster,
  ) {
    this.local = { name: "node-1", cluster: target.info.name, nodeIP: UPLINK_ADDRESS, podCIDR: `100.${64 + target.info.id}.1.0/24`, uplink: "eth0" };
    const datapath = new LinuxDatapath({ netns, logger: quietLogger });
    this.controller = new DatapathController(datapath, () => this.desired(), quietLogger);
  }

  /** Wires the uplink and runs a first reconcile (VXLAN device, sysctls), as a running agent has. */
  static async create(netns: string, target: MeshCluster): Promise<NodeRouteProbe> {
    const ip = (...args: string[]) => run("ip", ["-n", netns, ...args]);
    await ip("link", "add", "eth0", "type", "veth", "peer", "name", "eth0-peer");
    await ip("address", "add", `${UPLINK_ADDRESS}/24`, "dev", "eth0");
    await ip("link", "set", "dev", "eth0", "up");
    await ip("link", "set", "dev", "eth0-peer", "up");
    const probe = new NodeRouteProbe(netns, target);
    const first = await probe.controller.sync();
    if (first.problems.length) throw new Error(`first reconcile of ${netns} failed: ${first.problems.map((p) => p.message).join("; ")}`);
    return probe;
  }

  /** The reader's node handler. */
  onNode(cluster: string, record: NodeRecord): void {
    this.nodes.upsert(cluster, record);
    const id = record.ipv4AllocCidr;
    const times = this.times;
    const reports = this.reports;
    if (!times || !reports || id === undefined) return;
    times.mark(id, "handled");
    this.controller.sync().then(
      (report) => {
        reports.add(report);
        if (report.problems.length) this.problems.push(...report.problems.map((p) => p.message));
        else times.mark(id, "reconciled");
      },
      (e: unknown) => void this.problems.push((e as Error).message),
    );
  }

  /**
   * Puts `count` node records of `source` into `writer`, one every `intervalMs`, and times each
   * until its route is in the kernel. Node numbers start at `first`.
   */
  async measure(writer: KvStore, source: MeshCluster, options: { count: number; intervalMs: number; first?: number }): Promise<NodeRouteSamples> {
    const first = options.first ?? 1;
    if (first < 1 || first + options.count - 1 > 245) throw new Error(`node numbers ${first}…${first + options.count - 1} do not fit the source's node addresses (1…245)`);
    const times = new ChangeTimes<NodeStage>(["handled", "reconciled", "kernel"]);
    this.times = times;
    this.problems = [];
    const reports = new Set<ReconcileReport>();
    this.reports = reports;
    const pollPeriods: number[] = [];
    let polling = true;
    const poller = (async () => {
      try {
        let last: number | undefined;
        while (polling) {
          const out = await run("ip", ["-n", this.netns, "-j", "route", "show", "proto", "116"]);
          const at = performance.now();
          if (last !== undefined) pollPeriods.push(at - last);
          last = at;
          for (const dst of routeDestinations(out.stdout)) times.mark(withLength(dst), "kernel", at);
          // A pause leaves the CPU to etcd and the readers; the lateness it adds is reported.
          await new Promise((r) => setTimeout(r, POLL_GAP_MS));
        }
      } catch (e) {
        this.problems.push(`polling routes failed: ${(e as Error).message}`);
      }
    })();
    try {
      const puts: Promise<unknown>[] = [];
      const start = performance.now();
      for (let i = 0; i < options.count; i++) {
        await sleepUntil(start + i * options.intervalMs);
        const entry = nodeEntry(source.info, first + i);
        times.start(`100.${64 + source.info.id}.${first + i}.0/24`);
        puts.push(writer.put(entry.key, entry.value));
      }
      await Promise.all(puts);
      const deadline = Date.now() + KERNEL_TIMEOUT_MS;
      while (!times.complete("kernel") && this.problems.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    } finally {
      polling = false;
      await poller;
      this.times = undefined;
      this.reports = undefined;
    }
    const missing = times.missing("kernel");
    if (missing.length || this.problems.length) {
      throw new Error(
        `${missing.length} of ${options.count} node routes not in ${this.netns}'s kernel within ${KERNEL_TIMEOUT_MS / 1000} s (first: ${missing.slice(0, 3).join(", ") || "none"}); problems: ${this.problems.join("; ") || "none"}`,
      );
    }
    await times.waitComplete("reconciled", 10_000);
    return {
      handled: times.latencies("handled"),
      reconciled: times.latencies("reconciled"),
      kernel: times.latencies("kernel"),
      reconcileMs: [...reports].map((r) => r.durationMs),
      pollPeriods,
    };
  }

  stop(): void {
    this.controller.stop();
  }

  private desired(): DesiredNodeState {
    return { mode: "tunnel", local: this.local, peers: this.nodes.peers(this.local), endpoints: [] };
  }
}
