import { ipForwarding } from "../linux/local-routes.js";
import { planNode } from "../linux/plan.js";
import { objectKey, sortObjects, diffObjects } from "../objects.js";
import { buildReport } from "../report.js";
import { copyPolicyState, diffPolicy, EMPTY_POLICY_STATE, policyCounts } from "../linux/nftables/policy-diff.js";
import type {
  Datapath,
  DatapathObject,
  DesiredNodeState,
  NodePolicyState,
  PolicyReconcileReport,
  ReconcileReport,
  TeardownReport,
} from "../types.js";
import { validateDesiredState, validatePolicyState } from "../validate.js";

/**
 * The fake's stand-in for a node's kernel, fresh as a new node: IP forwarding off, nothing else.
 * Share one between instances to simulate an agent restart.
 */
export class FakeKernel {
  readonly objects = new Map<string, DatapathObject>();
  /** The policy the node enforces (no table: undefined; reconcilePolicy creates it, teardown removes it). */
  policy: NodePolicyState | undefined;

  constructor() {
    const forwarding = ipForwarding();
    this.objects.set(objectKey(forwarding), { ...forwarding, value: "0" });
  }

  list(): DatapathObject[] {
    return sortObjects([...this.objects.values()]);
  }
}

export type DatapathCall =
  | { readonly kind: "reconcile"; readonly desired: DesiredNodeState; readonly report?: ReconcileReport; readonly error?: Error }
  | { readonly kind: "reconcilePolicy"; readonly desired: NodePolicyState; readonly report?: PolicyReconcileReport; readonly error?: Error }
  | { readonly kind: "teardown"; readonly report?: TeardownReport; readonly error?: Error };

export interface RecordingDatapathOptions {
  readonly kernel?: FakeKernel;
  /** MTU the fake's uplink has (used when the desired state gives no underlayMtu). Default 1500. */
  readonly uplinkMtu?: number;
}

/**
 * A Datapath for unit tests of the layers above: records every call, keeps the kernel objects the
 * Linux datapath would install (same plan, same report), and can be told to fail.
 */
export class RecordingDatapath implements Datapath {
  readonly kernel: FakeKernel;
  readonly uplinkMtu: number;
  readonly calls: DatapathCall[] = [];
  private readonly failures: Error[] = [];
  private readonly waiters = new Set<() => void>();
  /** What this instance last applied; undefined makes the next reconcilePolicy a rebuild, as in the Linux datapath. */
  private appliedPolicy: NodePolicyState | undefined;

  constructor(options: RecordingDatapathOptions = {}) {
    this.kernel = options.kernel ?? new FakeKernel();
    this.uplinkMtu = options.uplinkMtu ?? 1500;
  }

  /** Every desired state given to reconcile, oldest first (copies: later changes by the caller do not show). */
  get desiredStates(): DesiredNodeState[] {
    return this.calls.flatMap((c) => (c.kind === "reconcile" ? [c.desired] : []));
  }

  get lastDesired(): DesiredNodeState | undefined {
    return this.desiredStates.at(-1);
  }

  /** Every policy state given to reconcilePolicy, oldest first (copies). */
  get policyStates(): NodePolicyState[] {
    return this.calls.flatMap((c) => (c.kind === "reconcilePolicy" ? [c.desired] : []));
  }

  get lastPolicy(): NodePolicyState | undefined {
    return this.policyStates.at(-1);
  }

  /** Like waitForDesired, for the states given to reconcilePolicy. */
  waitForPolicy(predicate: (desired: NodePolicyState) => boolean, timeoutMs = 5000): Promise<NodePolicyState> {
    return this.waitFor(() => this.policyStates, predicate, timeoutMs);
  }

  /** The next reconcile, reconcilePolicy or teardown rejects with `error` and changes nothing. */
  failNext(error: Error): void {
    this.failures.push(error);
  }

  /**
   * Resolves with the first recorded desired state (already recorded or still to come) that
   * satisfies `predicate`; rejects after `timeoutMs` naming what was recorded meanwhile.
   */
  waitForDesired(predicate: (desired: DesiredNodeState) => boolean, timeoutMs = 5000): Promise<DesiredNodeState> {
    return this.waitFor(() => this.desiredStates, predicate, timeoutMs);
  }

  private waitFor<T>(recorded: () => T[], predicate: (desired: T) => boolean, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const hit = recorded().find(predicate);
        if (!hit) return false;
        cleanup();
        resolve(hit);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no matching desired state within ${timeoutMs} ms; ${recorded().length} recorded`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      if (!check()) this.waiters.add(check);
    });
  }

  async reconcile(desired: DesiredNodeState): Promise<ReconcileReport> {
    const startedAt = performance.now();
    const copy = structuredClone(desired);
    try {
      this.takeFailure();
      validateDesiredState(copy);
      const planned = planNode(copy, this.uplinkMtu);
      const diff = diffObjects(planned, [...this.kernel.objects.values()]);
      for (const o of diff.remove) this.kernel.objects.delete(objectKey(o));
      for (const o of [...diff.add, ...diff.update.map((u) => u.to)]) this.kernel.objects.set(objectKey(o), o);
      const report = buildReport({ added: diff.add, updated: diff.update, removed: diff.remove, kept: diff.keep, problems: [], startedAt });
      this.record({ kind: "reconcile", desired: copy, report });
      return report;
    } catch (e) {
      this.record({ kind: "reconcile", desired: copy, error: e as Error });
      throw e;
    }
  }

  /**
   * Records `desired` and makes it the fake node's policy, reporting what the Linux datapath would:
   * the first call of an instance (and the first after a failure) is a rebuild, counted against
   * what this instance applied before (nothing, for a new one).
   */
  async reconcilePolicy(desired: NodePolicyState): Promise<PolicyReconcileReport> {
    const startedAt = performance.now();
    try {
      validatePolicyState(desired);
    } catch (e) {
      this.record({ kind: "reconcilePolicy", desired, error: e as Error });
      throw e;
    }
    const copy = copyPolicyState(desired);
    try {
      this.takeFailure();
    } catch (e) {
      // A failed transaction leaves the Linux datapath unsure of the table: it rebuilds next time.
      this.appliedPolicy = undefined;
      this.record({ kind: "reconcilePolicy", desired: copy, error: e as Error });
      throw e;
    }
    const rebuilt = this.appliedPolicy === undefined;
    const counts = policyCounts(diffPolicy(this.appliedPolicy ?? EMPTY_POLICY_STATE, copy));
    this.appliedPolicy = copy;
    this.kernel.policy = copy;
    const report: PolicyReconcileReport = { ...counts, rebuilt, problems: [], durationMs: performance.now() - startedAt };
    this.record({ kind: "reconcilePolicy", desired: copy, report });
    return report;
  }

  async teardown(): Promise<TeardownReport> {
    const startedAt = performance.now();
    try {
      this.takeFailure();
      const removed = this.kernel.list().filter((o) => o.kind !== "sysctl");
      for (const o of removed) this.kernel.objects.delete(objectKey(o));
      this.kernel.policy = undefined;
      this.appliedPolicy = undefined;
      const report = { removed, durationMs: performance.now() - startedAt };
      this.record({ kind: "teardown", report });
      return report;
    } catch (e) {
      this.record({ kind: "teardown", error: e as Error });
      throw e;
    }
  }

  private takeFailure(): void {
    const failure = this.failures.shift();
    if (failure) throw failure;
  }

  private record(call: DatapathCall): void {
    this.calls.push(call);
    for (const check of [...this.waiters]) check();
  }
}
