import type { Registry } from "prom-client";
import { kvstoreOperationsMetric, type KvOperationView } from "./kvstore-metrics.js";
import { collectedCounter, createRegistry } from "./registry.js";

/** The operator's port, as Cilium's. */
export const OPERATOR_METRICS_ADDR = ":9963";

/** Every metric `trellis operator` serves. */
export class OperatorMetrics {
  readonly registry: Registry;
  /** Give to EtcdStore's `observe` option. */
  readonly observeKvstore: (op: KvOperationView) => void;
  private operator: { readonly reconciles: number } | undefined;

  constructor(options: { processMetrics?: boolean } = {}) {
    this.registry = createRegistry(options);
    this.observeKvstore = kvstoreOperationsMetric(this.registry, "cilium_kvstore_operations_duration_seconds");
    collectedCounter(this.registry, { name: "trellis_operator_reconciles_total", help: "Passes of the operator's reconcile loop (pod CIDRs, scheduling, services, exports)", labelNames: [] }, () =>
      this.operator ? [[{}, this.operator.reconciles]] : [],
    );
  }

  attach(operator: { readonly reconciles: number }): void {
    this.operator = operator;
  }
}
