import type { ServiceSpec } from "../datapath/types.js";
import type { KvStore } from "../kvstore/kvstore.js";
import { ListWatcher } from "../kvstore/list-watch.js";
import { keys } from "../resources/keys.js";
import type { ServiceEndpoints } from "../resources/service-endpoints.js";
import type { Service, ServiceStatus } from "../resources/service.js";
import type { Logger } from "../log/logger.js";
import { ServiceMerger } from "../services/merge.js";
import { ServiceTable } from "../services/service-table.js";

/**
 * The cluster's services as the agent programs them. Follows the services, their statuses and
 * endpoints, keeps the merger's local side current (remote clusters' backends join through the
 * mesh handlers), and turns the service table into datapath specs: one per service port, with
 * every backend, local and remote, active or not by the service's affinity.
 */
export class LocalServices {
  private readonly services = new Map<string, Service>();
  private readonly statuses = new Map<string, ServiceStatus>();
  private readonly endpoints = new Map<string, ServiceEndpoints>();
  private readonly watchers: ListWatcher[];
  readonly merger: ServiceMerger;
  readonly table: ServiceTable;
  private readonly known = new Set<string>();

  constructor(store: KvStore, localCluster: string, onChange: () => void, logger?: Logger) {
    this.merger = new ServiceMerger({ localCluster, onChange });
    this.table = new ServiceTable(this.merger);
    const follow = <T>(prefix: string, into: Map<string, T>) =>
      new ListWatcher(store, prefix, (e) => {
        let id: string | undefined;
        if (e.type === "upsert") into.set((id = e.kv.key.slice(prefix.length)), JSON.parse(e.kv.value.toString()) as T);
        else if (e.type === "delete") into.delete((id = e.key.slice(prefix.length)));
        if (id) {
          try {
            this.sync(id);
          } catch (err) {
            logger?.warn({ service: id, err: (err as Error).message }, "service not programmed");
          }
          onChange();
        }
      });
    this.watchers = [follow(keys.services(), this.services), follow(keys.serviceStatuses(), this.statuses), follow(keys.serviceEndpointsAll(), this.endpoints)];
  }

  /** Brings the merger's view of one local service up to date. */
  private sync(id: string): void {
    const s = this.services.get(id);
    const [ns, name] = id.split("/") as [string, string];
    if (!s) {
      if (this.known.delete(id)) this.merger.deleteLocal(ns, name);
      return;
    }
    this.known.add(id);
    this.merger.upsertLocal({ service: s, status: this.statuses.get(id), endpoints: this.endpoints.get(id) });
  }

  async waitSynced(): Promise<void> {
    await Promise.all(this.watchers.map((w) => w.waitSynced()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.watchers.map((w) => w.stop()));
  }

  /** Every service that has its addresses allocated, one spec per port. */
  specs(): ServiceSpec[] {
    return this.table.specs() as ServiceSpec[];
  }
}
