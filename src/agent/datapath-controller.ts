import type { Datapath, DesiredNodeState, ReconcileReport } from "../datapath/types.js";
import type { Logger } from "../log/logger.js";

/** One finished reconcile, as a listener (metrics) sees it; `ok` is false when it threw or reported problems. */
export interface ReconcileObservation {
  readonly seconds: number;
  readonly ok: boolean;
}

/**
 * Runs the datapath's reconcile whenever the agent's view changes, coalescing bursts: changes that
 * arrive while a reconcile runs are folded into the next one. `sync()` resolves after a reconcile
 * that started after the call has finished (so the caller's change is in the kernel). A periodic
 * resync repairs anything changed behind the agent's back.
 */
export class DatapathController {
  private running = false;
  private dirty = false;
  private waiters: { resolve: (r: ReconcileReport) => void; reject: (e: Error) => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly listeners: ((o: ReconcileObservation) => void)[] = [];
  last: { report?: ReconcileReport; error?: string; at?: Date } = {};
  reconciles = 0;
  failures = 0;

  constructor(
    private readonly datapath: Datapath,
    private readonly desired: () => DesiredNodeState | undefined,
    private readonly logger: Logger,
    private readonly resyncMs = 30_000,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sync().catch(() => undefined), this.resyncMs);
    this.timer.unref();
  }

  /** Calls `listener` after every reconcile. */
  onReconcile(listener: (o: ReconcileObservation) => void): void {
    this.listeners.push(listener);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  sync(): Promise<ReconcileReport> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.dirty = true;
      void this.loop();
    });
  }

  private async loop(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.dirty && !this.stopped) {
        this.dirty = false;
        const batch = this.waiters.splice(0);
        const desired = this.desired();
        if (!desired) {
          const e = new Error("the node has no pod CIDR yet; the datapath cannot be programmed");
          for (const w of batch) w.reject(e);
          continue;
        }
        const started = performance.now();
        try {
          const report = await this.datapath.reconcile(desired);
          this.reconciles++;
          this.last = { report, at: new Date() };
          if (report.problems.length) this.failures++;
          this.tell({ seconds: (performance.now() - started) / 1000, ok: report.problems.length === 0 });
          for (const w of batch) w.resolve(report);
        } catch (e) {
          this.tell({ seconds: (performance.now() - started) / 1000, ok: false });
          this.failures++;
          this.last = { error: (e as Error).message, at: new Date() };
          this.logger.error({ err: (e as Error).message }, "datapath reconcile failed");
          for (const w of batch) w.reject(e as Error);
        }
      }
    } finally {
      this.running = false;
    }
  }

  private tell(o: ReconcileObservation): void {
    for (const listener of this.listeners) {
      try {
        listener(o);
      } catch (e) {
        this.logger.warn({ err: (e as Error).message }, "reconcile listener failed");
      }
    }
  }
}
