import type { ServiceSpec } from "../datapath/types.js";
import type { KvStore } from "../kvstore/kvstore.js";
import { ListWatcher } from "../kvstore/list-watch.js";
import { keys } from "../resources/keys.js";
import type { ServiceEndpoints } from "../resources/service-endpoints.js";
import { servicePorts, type Service, type ServiceStatus } from "../resources/service.js";

/**
 * The cluster's services as the agent programs them: each service port with its addresses (from
 * the operator's status) and its backends (from the service's endpoints). Follows the three
 * prefixes and calls `onChange` when the result may differ. Specs are rebuilt only for services
 * that changed, so the datapath recognises the others as unchanged.
 */
export class LocalServices {
  private readonly services = new Map<string, Service>();
  private readonly statuses = new Map<string, ServiceStatus>();
  private readonly endpoints = new Map<string, ServiceEndpoints>();
  private readonly watchers: ListWatcher[];
  private readonly specCache = new Map<string, { json: string; specs: ServiceSpec[] }>();

  constructor(store: KvStore, onChange: () => void) {
    const follow = <T>(prefix: string, into: Map<string, T>) =>
      new ListWatcher(store, prefix, (e) => {
        if (e.type === "upsert") into.set(e.kv.key.slice(prefix.length), JSON.parse(e.kv.value.toString()) as T);
        else if (e.type === "delete") into.delete(e.key.slice(prefix.length));
        if (e.type !== "synced") onChange();
      });
    this.watchers = [follow(keys.services(), this.services), follow(keys.serviceStatuses(), this.statuses), follow(keys.serviceEndpointsAll(), this.endpoints)];
  }

  async waitSynced(): Promise<void> {
    await Promise.all(this.watchers.map((w) => w.waitSynced()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.watchers.map((w) => w.stop()));
  }

  /** Every service that has its addresses allocated, one spec per port. */
  specs(): ServiceSpec[] {
    const out: ServiceSpec[] = [];
    for (const [id, s] of this.services) {
      const status = this.statuses.get(id);
      if (!status) continue;
      const eps = this.endpoints.get(id);
      const json = JSON.stringify([s.spec, status, eps]);
      const cached = this.specCache.get(id);
      if (cached?.json === json) {
        out.push(...cached.specs);
        continue;
      }
      const specs = servicePorts(s).map(
        (p): ServiceSpec => ({
          id: `${id}:${p.port}/${p.protocol.toLowerCase()}`,
          protocol: p.protocol === "UDP" ? "udp" : "tcp",
          port: p.port,
          clusterIP: status.clusterIP,
          ...(status.nodePorts[String(p.port)] ? { nodePort: status.nodePorts[String(p.port)] } : {}),
          ...(status.loadBalancerIPs.length ? { loadBalancerIPs: [...status.loadBalancerIPs] } : {}),
          backends: (eps?.backends ?? []).map((b) => ({ ip: b.ip, port: p.targetPort, active: b.ready })),
        }),
      );
      this.specCache.set(id, { json, specs });
      out.push(...specs);
    }
    for (const id of this.specCache.keys()) if (!this.services.has(id)) this.specCache.delete(id);
    return out;
  }
}
