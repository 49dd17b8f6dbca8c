import type { PeerNode } from "../datapath/types.js";
import type { NodeRecord } from "../state/node.js";

/** A node as the agent shows it (`node list`) and programs it (datapath peers). */
export interface KnownNode {
  readonly cluster: string;
  readonly name: string;
  readonly nodeIP?: string;
  readonly podCIDR?: string;
  readonly healthIP?: string;
  /** Where the agent learned of it: "local" cluster or the remote cluster's name. */
  readonly source: string;
  readonly record: NodeRecord;
}

/**
 * Every node the agent knows, from several sources: its own cluster's kvstore, and later one per
 * remote cluster. Each source owns its nodes; removing a source (a disconnected cluster) removes
 * exactly its nodes.
 */
export class NodeCache {
  private readonly sources = new Map<string, Map<string, KnownNode>>();

  upsert(source: string, record: NodeRecord): void {
    let m = this.sources.get(source);
    if (!m) this.sources.set(source, (m = new Map()));
    const internal = record.ipAddresses.find((a) => a.type === "InternalIP")?.ip;
    m.set(`${record.cluster}/${record.name}`, {
      cluster: record.cluster,
      name: record.name,
      nodeIP: internal,
      podCIDR: record.ipv4AllocCidr,
      healthIP: record.ipv4HealthIp,
      source,
      record,
    });
  }

  delete(source: string, cluster: string, name: string): void {
    this.sources.get(source)?.delete(`${cluster}/${name}`);
  }

  dropSource(source: string): void {
    this.sources.delete(source);
  }

  all(): KnownNode[] {
    return [...this.sources.values()].flatMap((m) => [...m.values()]).sort((a, b) => `${a.cluster}/${a.name}`.localeCompare(`${b.cluster}/${b.name}`, "en", { numeric: true }));
  }

  countBySource(source: string): number {
    return this.sources.get(source)?.size ?? 0;
  }

  /** Peers for the datapath: every node but this one that has an address and a pod CIDR. */
  peers(self: { cluster: string; name: string }): PeerNode[] {
    return this.all()
      .filter((n) => !(n.cluster === self.cluster && n.name === self.name) && n.nodeIP && n.podCIDR)
      .map((n) => ({ name: n.name, cluster: n.cluster, nodeIP: n.nodeIP!, podCIDR: n.podCIDR! }));
  }
}
