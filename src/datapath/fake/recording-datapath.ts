import { ipForwarding } from "../linux/local-routes.js";
import { planNode } from "../linux/plan.js";
import { objectKey, sortObjects, diffObjects } from "../objects.js";
import { buildReport } from "../report.js";
import type { Datapath, DatapathObject, DesiredNodeState, ReconcileReport, TeardownReport } from "../types.js";
import { validateDesiredState } from "../validate.js";

/**
 * The fake's stand-in for a node's kernel, fresh as a new node: IP forwarding off, nothing else.
 * Share one between instances to simulate an agent restart.
 */
export class FakeKernel {
  readonly objects = new Map<string, DatapathObject>();

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

  /** The next reconcile or teardown rejects with `error` and changes nothing. */
  failNext(error: Error): void {
    this.failures.push(error);
  }

  /**
   * Resolves with the first recorded desired state (already recorded or still to come) that
   * satisfies `predicate`; rejects after `timeoutMs` naming what was recorded meanwhile.
   */
  waitForDesired(predicate: (desired: DesiredNodeState) => boolean, timeoutMs = 5000): Promise<DesiredNodeState> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const hit = this.desiredStates.find(predicate);
        if (!hit) return false;
        cleanup();
        resolve(hit);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no matching desired state within ${timeoutMs} ms; ${this.desiredStates.length} recorded`));
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

  async teardown(): Promise<TeardownReport> {
    const startedAt = performance.now();
    try {
      this.takeFailure();
      const removed = this.kernel.list().filter((o) => o.kind !== "sysctl");
      for (const o of removed) this.kernel.objects.delete(objectKey(o));
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
