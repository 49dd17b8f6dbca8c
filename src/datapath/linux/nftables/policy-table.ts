/**
 * The policy stage of the Linux datapath. It keeps a record of what it applied and sends only the
 * difference: one ipcache change is one element, however many entries there are. It never reads
 * the table back (nft 1.0.6 lists 100,000 elements slowly); instead the first reconcile of an
 * instance, the first after a failed transaction, and one every resync period rebuild the table in
 * one transaction (delete and write whole). A rebuild also undoes any edit made behind the agent's
 * back. Connections survive it: conntrack lives outside the table, and established traffic is
 * accepted before any policy is looked at.
 */
import type { Logger } from "../../../log/logger.js";
import { DatapathError, DatapathInputError } from "../../errors.js";
import type { EndpointPolicyRules, NodePolicyState, PolicyReconcileReport } from "../../types.js";
import { ipcacheIssues, policyStateIssues } from "../../validate.js";
import type { KernelTools } from "../commands.js";
import { copyEndpoints, diffEndpoints, diffIpcache, policyCounts, type PolicyDiff } from "./policy-diff.js";
import { planEndpoint, POLICY_TABLE, POLICY_TABLE_FAMILY, type PlannedEndpoint } from "./policy-layout.js";
import { policyChangeScript, policyDeleteScript, policyRebuildScript } from "./policy-script.js";

export const DEFAULT_POLICY_RESYNC_MS = 5 * 60_000;

interface Applied {
  /** This stage's own copy, changed in place as changes are applied. */
  readonly ipcache: Map<string, number>;
  readonly endpoints: readonly EndpointPolicyRules[];
  /** By hostIfName. */
  readonly planned: ReadonlyMap<string, PlannedEndpoint>;
  readonly builtAt: number;
}

const NO_CHANGE = { ipcache: { added: 0, updated: 0, removed: 0 }, endpoints: { added: 0, updated: 0, removed: 0, kept: 0 } };

export class PolicyTable {
  private record: Applied | undefined;
  private readonly resyncMs: number;
  private readonly now: () => number;
  private readonly log: Logger | undefined;

  constructor(
    private readonly tools: KernelTools,
    options: {
      /** A reconcile this long after the last rebuild rebuilds again. */
      readonly resyncMs?: number;
      /** The clock (ms), for tests. */
      readonly now?: () => number;
      readonly logger?: Logger;
    } = {},
  ) {
    this.resyncMs = options.resyncMs ?? DEFAULT_POLICY_RESYNC_MS;
    this.now = options.now ?? (() => performance.now());
    this.log = options.logger;
  }

  /**
   * Makes the table enforce `desired`. Throws DatapathInputError (changing nothing) for a
   * malformed state; a kernel failure is reported in `problems`, and the next call rebuilds.
   * The ipcache is neither copied nor checked whole: with 100,000 entries either would cost more
   * than the kernel change. Entries equal to the applied ones were checked when they were applied.
   */
  async reconcile(desired: NodePolicyState): Promise<PolicyReconcileReport> {
    const startedAt = performance.now();
    const record = this.record;
    const issues = policyStateIssues(desired, { ipcacheEntries: "skip" });
    const ipcache = desired?.ipcache instanceof Map ? diffIpcache(record?.ipcache ?? new Map(), desired.ipcache) : undefined;
    if (ipcache) issues.unshift(...ipcacheIssues([...ipcache.add, ...ipcache.update.map(([ip, , to]) => [ip, to] as const)]));
    if (issues.length || !ipcache) throw new DatapathInputError(issues);
    const endpoints = copyEndpoints(desired.endpoints);
    const diff: PolicyDiff = { ipcache, endpoints: diffEndpoints(record?.endpoints ?? [], endpoints) };
    const planned = new Map(record?.planned);
    for (const ep of diff.endpoints.remove) planned.delete(ep.hostIfName);
    for (const ep of [...diff.endpoints.add, ...diff.endpoints.update.map((u) => u.to)]) planned.set(ep.hostIfName, planEndpoint(ep));

    const report = (rebuilt: boolean, problems: string[] = []): PolicyReconcileReport => ({
      ...(problems.length ? NO_CHANGE : policyCounts(diff)),
      rebuilt,
      problems: problems.map((message) => ({ message })),
      durationMs: performance.now() - startedAt,
    });
    const rebuild = async (): Promise<PolicyReconcileReport> => {
      this.record = undefined;
      await this.tools.nftApply(policyRebuildScript(desired.ipcache, [...planned.values()]));
      this.record = { ipcache: new Map(desired.ipcache), endpoints, planned, builtAt: this.now() };
      return report(true);
    };

    try {
      if (!record || this.now() - record.builtAt >= this.resyncMs) return await rebuild();
      const script = policyChangeScript({
        ipcache: {
          remove: [...ipcache.remove.map(([ip]) => ip), ...ipcache.update.map(([ip]) => ip)],
          add: [...ipcache.add, ...ipcache.update.map(([ip, , to]) => [ip, to] as const)],
        },
        addEndpoints: diff.endpoints.add.map((ep) => planned.get(ep.hostIfName)!),
        updateEndpoints: diff.endpoints.update.map((u) => ({ from: record.planned.get(u.from.hostIfName)!, to: planned.get(u.to.hostIfName)! })),
        removeEndpoints: diff.endpoints.remove.map((ep) => record.planned.get(ep.hostIfName)!),
      });
      try {
        if (script) await this.tools.nftApply(script);
      } catch (e) {
        if (!(e instanceof DatapathError)) throw e;
        // Usually someone changed the table behind the agent's back, so the record no longer
        // says what is there. A rebuild does not depend on it.
        this.log?.warn({ error: e.message }, "policy change failed; rebuilding the policy table");
        return await rebuild();
      }
      for (const [ip] of ipcache.remove) record.ipcache.delete(ip);
      for (const [ip, identity] of ipcache.add) record.ipcache.set(ip, identity);
      for (const [ip, , identity] of ipcache.update) record.ipcache.set(ip, identity);
      this.record = { ipcache: record.ipcache, endpoints, planned, builtAt: record.builtAt };
      return report(false);
    } catch (e) {
      if (!(e instanceof DatapathError)) throw e;
      this.record = undefined;
      return report(false, [`could not program the policy table ${POLICY_TABLE_FAMILY} ${POLICY_TABLE}: ${e.message}`]);
    }
  }

  /** Deletes the table, if there is one. */
  async teardown(): Promise<void> {
    this.record = undefined;
    try {
      await this.tools.nftApply(policyDeleteScript());
    } catch (e) {
      // With no nft there can be no table of Trellis's either.
      if (e instanceof DatapathError && /nft is not installed/.test(e.message)) return;
      throw e;
    }
  }
}
