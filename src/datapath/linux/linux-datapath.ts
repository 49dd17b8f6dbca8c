import { subsystemLogger, type Logger } from "../../log/logger.js";
import { formatReport, reportChanged } from "../report.js";
import type { Datapath, DesiredNodeState, ReconcileReport, TeardownReport } from "../types.js";
import { KernelTools } from "./commands.js";
import { reconcileNode, teardownNode } from "./reconciler.js";

export interface LinuxDatapathOptions {
  /**
   * Named network namespace to program (`ip -n NAME`). Leave it out when the agent itself runs
   * inside the node's namespace (or on a real host).
   */
  readonly netns?: string;
  readonly logger?: Logger;
}

/**
 * The Linux datapath: routes, VXLAN device, FDB and neighbour entries through iproute2. It keeps
 * no memory of what it did: each reconcile reads the kernel, so a new instance (an agent restart)
 * picks up where the last one left off. Services and policy (nftables, in Trellis's own tables)
 * are to join as one more read-plan-diff-apply stage of the same reconcile (linux/nftables.ts),
 * with `nft -f`, which unlike `ip -batch` applies a whole change atomically.
 */
export class LinuxDatapath implements Datapath {
  private readonly tools: KernelTools;
  private readonly log: Logger;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: LinuxDatapathOptions = {}) {
    this.tools = new KernelTools(options.netns);
    this.log = options.logger ?? subsystemLogger("datapath", options.netns ? { netns: options.netns } : {});
  }

  reconcile(desired: DesiredNodeState): Promise<ReconcileReport> {
    return this.serialize(async () => {
      const report = await reconcileNode(this.tools, desired);
      const fields = { added: report.added.length, updated: report.updated.length, removed: report.removed.length, kept: report.kept };
      if (report.problems.length) this.log.warn({ ...fields, problems: report.problems.map((p) => p.message) }, `datapath reconciled with problems: ${formatReport(report)}`);
      else if (reportChanged(report)) this.log.info(fields, `datapath reconciled: ${formatReport(report)}`);
      else this.log.debug(fields, `datapath unchanged: ${formatReport(report)}`);
      return report;
    });
  }

  teardown(): Promise<TeardownReport> {
    return this.serialize(async () => {
      const report = await teardownNode(this.tools);
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
