import type { ClusterServiceRecord } from "../state/index.js";
import type { ServicePort } from "../resources/service.js";
import { compareIps, serviceRef, viewLocalService, type LocalServiceState, type LocalServiceView } from "./local-service.js";

/**
 * Local services and the services other clusters share, merged into one backend list per local
 * service port. The rules (Cilium's):
 *   - a remote ClusterService is merged only into the local service of the same namespace and
 *     name, and only while that local service is global; a service that exists only remotely gets
 *     nothing (there is no local frontend to reach it by);
 *   - a remote record with shared=false contributes nothing (and withdraws what it gave before);
 *   - remote backends are matched to a local port by port name and protocol, and keep their own
 *     port number (the remote target port);
 *   - an address that is already a backend of the port (local first, then peers by name) is not
 *     added twice.
 * It is incremental: records come and go one at a time, and each service carries a version that
 * changes whenever its merged result may have, so consumers recompute only what changed.
 */

export interface MergedBackend {
  readonly ip: string;
  readonly port: number;
  readonly protocol: ServicePort["protocol"];
  /** The cluster the backend runs in. */
  readonly cluster: string;
  readonly local: boolean;
  /** Local only: the pod is being deleted (remote clusters export ready backends only). */
  readonly terminating: boolean;
  /** Local only: the node the backend runs on, when known. */
  readonly node?: string;
}

export interface MergedPort {
  readonly port: ServicePort;
  readonly backends: readonly MergedBackend[];
}

export interface MergedService {
  readonly state: LocalServiceState;
  readonly view: LocalServiceView;
  readonly ports: readonly MergedPort[];
  /** Changes whenever anything this result depends on changes; never repeats for one service. */
  readonly version: number;
}

/** A remote record that cannot be accepted as the peer's. */
export class ServiceMergeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ServiceMergeError";
  }
}

export interface ServiceMergerOptions {
  /** The local cluster's name: records claiming to come from it are refused. */
  readonly localCluster: string;
  /** Called with the "namespace/name" of each service whose merged result may have changed. */
  readonly onChange?: (refs: readonly string[]) => void;
}

interface LocalEntry {
  readonly state: LocalServiceState;
  readonly view: LocalServiceView;
}

export class ServiceMerger {
  readonly localCluster: string;
  private readonly locals = new Map<string, LocalEntry>();
  /** "namespace/name" -> peer -> the peer's shared record. */
  private readonly remotes = new Map<string, Map<string, ClusterServiceRecord>>();
  private readonly refsByPeer = new Map<string, Set<string>>();
  private readonly versions = new Map<string, number>();
  private readonly merged = new Map<string, MergedService>();
  private clock = 0;

  constructor(private readonly options: ServiceMergerOptions) {
    this.localCluster = options.localCluster;
  }

  /**
   * Adds or replaces a local service. Throws (changing nothing) when its mesh annotations are
   * invalid; the error names the annotation and the value given.
   */
  upsertLocal(state: LocalServiceState): void {
    const view = viewLocalService(state);
    const ref = serviceRef(view.namespace, view.name);
    this.locals.set(ref, { state, view });
    this.touch([ref]);
  }

  deleteLocal(namespace: string, name: string): void {
    const ref = serviceRef(namespace, name);
    if (this.locals.delete(ref)) this.touch([ref]);
  }

  /** Takes `peer`'s record of a service (a ClusterMesh `services` upsert). */
  upsertRemote(peer: string, record: ClusterServiceRecord): void {
    if (peer === this.localCluster) {
      throw new ServiceMergeError(`service ${serviceRef(record.namespace, record.name)}: a remote record from cluster "${peer}", which is the local cluster's own name; two clusters of a mesh need different names`);
    }
    if (record.cluster !== peer) {
      throw new ServiceMergeError(`service ${serviceRef(record.namespace, record.name)}: the record says cluster "${record.cluster}" but came from cluster "${peer}"; it is not accepted as "${peer}"'s`);
    }
    const ref = serviceRef(record.namespace, record.name);
    if (!record.shared) {
      this.removeRemote(peer, ref);
      return;
    }
    let byPeer = this.remotes.get(ref);
    if (!byPeer) this.remotes.set(ref, (byPeer = new Map()));
    byPeer.set(peer, record);
    let refs = this.refsByPeer.get(peer);
    if (!refs) this.refsByPeer.set(peer, (refs = new Set()));
    refs.add(ref);
    this.touch([ref]);
  }

  /** Forgets `peer`'s record of a service (a ClusterMesh `services` delete). */
  deleteRemote(peer: string, service: { readonly namespace: string; readonly name: string }): void {
    this.removeRemote(peer, serviceRef(service.namespace, service.name));
  }

  /** Forgets everything `peer` shared (the peer was disconnected or removed). */
  dropPeer(peer: string): void {
    const refs = this.refsByPeer.get(peer);
    if (!refs) return;
    this.refsByPeer.delete(peer);
    for (const ref of refs) {
      const byPeer = this.remotes.get(ref);
      byPeer?.delete(peer);
      if (byPeer?.size === 0) this.remotes.delete(ref);
    }
    this.touch([...refs]);
  }

  /** Handlers in the shape ClusterMesh's `handlers.services` takes. */
  meshHandlers(): {
    upsert(cluster: string, record: ClusterServiceRecord): void;
    delete(cluster: string, record: ClusterServiceRecord): void;
  } {
    return {
      upsert: (cluster, record) => this.upsertRemote(cluster, record),
      delete: (cluster, record) => this.deleteRemote(cluster, record),
    };
  }

  /** The merged backends of each port of a local service; undefined when there is no such local service. */
  backendsFor(namespace: string, name: string): readonly MergedPort[] | undefined {
    return this.service(serviceRef(namespace, name))?.ports;
  }

  /** The merged result for "namespace/name", computed once per version. */
  service(ref: string): MergedService | undefined {
    const local = this.locals.get(ref);
    if (!local) return undefined;
    const version = this.versions.get(ref)!;
    const cached = this.merged.get(ref);
    if (cached?.version === version) return cached;
    const result: MergedService = { state: local.state, view: local.view, ports: this.merge(local.view, ref), version };
    this.merged.set(ref, result);
    return result;
  }

  /** "namespace/name" of every local service, sorted. */
  localRefs(): string[] {
    return [...this.locals.keys()].sort();
  }

  versionOf(ref: string): number | undefined {
    return this.locals.has(ref) ? this.versions.get(ref) : undefined;
  }

  /** The peers whose shared records exist for "namespace/name", sorted (whether or not they are merged). */
  peersOf(ref: string): string[] {
    return [...(this.remotes.get(ref)?.keys() ?? [])].sort();
  }

  private removeRemote(peer: string, ref: string): void {
    const byPeer = this.remotes.get(ref);
    if (!byPeer?.delete(peer)) return;
    if (byPeer.size === 0) this.remotes.delete(ref);
    const refs = this.refsByPeer.get(peer);
    refs?.delete(ref);
    if (refs?.size === 0) this.refsByPeer.delete(peer);
    this.touch([ref]);
  }

  private touch(refs: readonly string[]): void {
    for (const ref of refs) {
      this.versions.set(ref, ++this.clock);
      if (!this.locals.has(ref)) this.merged.delete(ref);
    }
    for (const ref of refs) if (!this.locals.has(ref) && !this.remotes.has(ref)) this.versions.delete(ref);
    this.options.onChange?.(refs);
  }

  private merge(view: LocalServiceView, ref: string): MergedPort[] {
    const peers = view.global ? this.peersOf(ref).map((peer) => ({ peer, record: this.remotes.get(ref)!.get(peer)! })) : [];
    return view.ports.map((port) => {
      const backends: MergedBackend[] = [];
      const seen = new Set<string>();
      for (const b of view.backends) {
        seen.add(b.ip);
        backends.push({ ip: b.ip, port: port.targetPort, protocol: port.protocol, cluster: this.localCluster, local: true, terminating: b.terminating, ...(b.node !== undefined ? { node: b.node } : {}) });
      }
      for (const { peer, record } of peers) {
        for (const ip of Object.keys(record.backends).sort(compareIps)) {
          const l4 = record.backends[ip]![port.name ?? ""];
          if (!l4 || l4.protocol !== port.protocol || l4.port === 0 || seen.has(ip)) continue;
          seen.add(ip);
          backends.push({ ip, port: l4.port, protocol: port.protocol, cluster: peer, local: false, terminating: false });
        }
      }
      return { port, backends };
    });
  }
}
