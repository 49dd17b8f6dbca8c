import { Histogram, type Registry } from "prom-client";

/** One kvstore request as EtcdStore's `observe` option reports it (src/kvstore/etcd-store.ts). */
export interface KvOperationView {
  /** get, list, put, delete, deletePrefix, txn, grantLease, compact, revision */
  readonly kind: string;
  readonly key: string;
  readonly seconds: number;
  readonly ok: boolean;
}

const ACTION_OF_KIND: Readonly<Record<string, string>> = {
  get: "read",
  list: "read",
  revision: "read",
  put: "set",
  txn: "set",
  grantLease: "set",
  delete: "delete",
  deletePrefix: "delete",
  compact: "delete",
};

/**
 * The `scope` label of a key, with as few values as the key layout has kinds (never a key's own
 * name): `cilium/state/<kind>/<version>/...` and `cilium/cache/<kind>/<version>/...` give
 * `<kind>/<version>`; `cilium/synced/<cluster>/<key>` gives `synced/<scope of key>`;
 * `cilium/<name>/...` gives `<name>`; `trellis/<name>/...` gives `trellis/<name>`; anything else
 * (and requests about no key) gives `other`.
 */
export function scopeOfKey(key: string): string {
  const parts = key.split("/");
  const [root, second, third, fourth] = parts;
  if (root === "trellis") return second ? `trellis/${second}` : "other";
  if (root !== "cilium" || !second) return "other";
  if (second === "state" || second === "cache") return third && fourth ? `${third}/${fourth}` : "other";
  if (second === "synced") {
    const inner = parts.length > 3 ? scopeOfKey(parts.slice(3).join("/")) : "other";
    return inner === "other" ? "synced" : `synced/${inner}`;
  }
  return second.replace(/^\./, "") || "other";
}

/**
 * Cilium's kvstore_operations_duration_seconds: how long each request to etcd took, by scope,
 * kind of request, action (read, set, delete) and outcome (success, fail). Returns the observer
 * to give EtcdStore.
 */
export function kvstoreOperationsMetric(registry: Registry, name: string): (op: KvOperationView) => void {
  const histogram = new Histogram({
    name,
    help: "Duration in seconds of kvstore operations, by scope (the key's kind), kind of request, action and outcome",
    labelNames: ["scope", "kind", "action", "outcome"],
    registers: [registry],
  });
  return (op) =>
    histogram.observe({ scope: scopeOfKey(op.key), kind: op.kind, action: ACTION_OF_KIND[op.kind] ?? "other", outcome: op.ok ? "success" : "fail" }, op.seconds);
}
