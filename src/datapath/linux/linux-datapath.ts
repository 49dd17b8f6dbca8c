import { subsystemLogger, type Logger } from "../../log/logger.js";
import { formatReport, reportChanged } from "../report.js";
import type { Datapath, DesiredNodeState, NodePolicyState, PolicyReconcileReport, ReconcileReport, TeardownReport } from "../types.js";
import { KernelTools } from "./commands.js";
import { DEFAULT_POLICY_RESYNC_MS, PolicyTable } from "./nftables/policy-table.js";
import { ServiceTable } from "./nftables/service-table.js";
import { reconcileNode, teardownNode } from "./reconciler.js";

export interface LinuxDatapathOptions {
  /**
   * Named network namespace to program (`ip -n NAME`). Leave it out when the agent itself runs
   * inside the node's namespace (or on a real host).
   */
  readonly netns?: string;
  readonly logger?: Logger;
  /**
   * How often the service table is read back in full to repair changes made behind the agent's
   * back; between reads, reconciles trust the record of what was applied. Default 5 minutes: the
   * read takes seconds with 10,000 services (nft 1.0.6 lists 100,000 map elements slowly), and
   * nothing but a person with nft changes the table.
   */
  readonly serviceResyncMs?: number;
  /**
   * How often the policy table is rebuilt whole (undoing edits made behind the agent's back);
   * between rebuilds, reconcilePolicy sends only the difference from what it applied. Default 5
   * minutes: a rebuild with 100,000 ipcache entries takes about a second.
   */
  readonly policyResyncMs?: number;
}

export const DEFAULT_SERVICE_RESYNC_MS = 5 * 60_000;

/**
 * The Linux datapath: routes, VXLAN device, FDB and neighbour entries through iproute2, and
 * service load-balancing through nftables (`table ip trellis_lb`), network policy in its own
 * nftables table (`table ip trellis_policy`, see reconcilePolicy). The iproute2 stage keeps no
 * memory of what it did: each reconcile reads the kernel. The service stage reads its table on
 * the first reconcile and on a periodic resync, and otherwise sends only the difference from
 * what it applied (nftables/service-table.ts). Either way a new instance (an agent restart) picks
 * up where the last one left off.
 */
export class LinuxDatapath implements Datapath {
  private readonly tools: KernelTools;
  private readonly services: ServiceTable;
  private readonly policy: PolicyTable;
  private readonly log: Logger;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: LinuxDatapathOptions = {}) {
    this.tools = new KernelTools(options.netns);
    this.services = new ServiceTable(this.tools, options.serviceResyncMs ?? DEFAULT_SERVICE_RESYNC_MS);
    this.log = options.logger ?? subsystemLogger("datapath", options.netns ? { netns: options.netns } : {});
    this.policy = new PolicyTable(this.tools, { resyncMs: options.policyResyncMs ?? DEFAULT_POLICY_RESYNC_MS, logger: this.log });
  }

  reconcile(desired: DesiredNodeState): Promise<ReconcileReport> {
    return this.serialize(async () => {
      const report = await reconcileNode(this.tools, this.services, desired);
      const fields = { added: report.added.length, updated: report.updated.length, removed: report.removed.length, kept: report.kept };
      if (report.problems.length) this.log.warn({ ...fields, problems: report.problems.map((p) => p.message) }, `datapath reconciled with problems: ${formatReport(report)}`);
      else if (reportChanged(report)) this.log.info(fields, `datapath reconciled: ${formatReport(report)}`);
      else this.log.debug(fields, `datapath unchanged: ${formatReport(report)}`);
      return report;
    });
  }

  /** Policy lives in its own table (`ip trellis_policy`, nftables/policy-layout.ts), apart from reconcile()'s state. */
  reconcilePolicy(desired: NodePolicyState): Promise<PolicyReconcileReport> {
    return this.serialize(async () => {
      const report = await this.policy.reconcile(desired);
      const fields = { ipcache: report.ipcache, endpoints: report.endpoints, rebuilt: report.rebuilt, durationMs: Math.round(report.durationMs) };
      const { ipcache: c, endpoints: e } = report;
      const summary = `ipcache +${c.added} ~${c.updated} -${c.removed}, endpoints +${e.added} ~${e.updated} -${e.removed} =${e.kept}${report.rebuilt ? " (table rebuilt)" : ""}`;
      if (report.problems.length) this.log.warn({ ...fields, problems: report.problems.map((p) => p.message) }, `policy reconciled with problems: ${summary}`);
      else if (c.added + c.updated + c.removed + e.added + e.updated + e.removed > 0 || report.rebuilt) this.log.info(fields, `policy reconciled: ${summary}`);
      else this.log.debug(fields, `policy unchanged: ${summary}`);
      return report;
    });
  }

  teardown(): Promise<TeardownReport> {
    return this.serialize(async () => {
      const report = await teardownNode(this.tools, this.services);
      // Not in the report's objects: the policy table is one thing the datapath owns, not a kind of object.
      await this.policy.teardown();
      this.log.info({ removed: report.removed.length }, `datapath torn down: removed ${report.removed.length} objects`);
      return report;
    });
  }

  /** Two reconciles interleaving their reads and writes could each undo the other's work. */
  private serialize<T>(task: () => Promise<T>): Promise<T> {
    const next = this.queue.then(task, task);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
