import { Counter, Histogram, type Registry } from "prom-client";

/** One reconcile of the datapath (src/agent/datapath-controller.ts). */
export interface ReconcileView {
  readonly seconds: number;
  readonly ok: boolean;
}

/** Seconds: one reconcile is a few `ip`/`nft` runs, a full rebuild with thousands of services takes seconds. */
const RECONCILE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * How long each reconcile of the kernel state took, and how many failed (threw, or left
 * problems). Returns the function that records a finished reconcile.
 */
export function registerDatapathMetrics(registry: Registry, names: { readonly duration: string; readonly errors: string }): (r: ReconcileView) => void {
  const duration = new Histogram({
    name: names.duration,
    help: "Duration in seconds of datapath reconciles (desired state read, kernel state read and changed), by outcome",
    labelNames: ["outcome"],
    buckets: RECONCILE_BUCKETS,
    registers: [registry],
  });
  const errors = new Counter({ name: names.errors, help: "Datapath reconciles that failed or left problems", registers: [registry] });
  return (r) => {
    duration.observe({ outcome: r.ok ? "success" : "fail" }, r.seconds);
    if (!r.ok) errors.inc();
  };
}
