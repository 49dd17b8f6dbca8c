import type { KvStore } from "../kvstore/kvstore.js";
import { keys } from "../resources/keys.js";
import { getPath, type Values } from "./helm-set.js";
import { ValuesError } from "./values.js";

/**
 * `clustermesh.apiserver.tls.auto.*`: whether the mesh's certificates are renewed before they
 * expire, and how long new ones live. Cilium's three methods differ in who renews (Helm on each
 * upgrade, a CronJob, cert-manager); Trellis's operator renews in every case (docs/clustermesh.md).
 */
export const TLS_AUTO_METHODS = ["helm", "cronJob", "certmanager"] as const;
export type TlsAutoMethod = (typeof TLS_AUTO_METHODS)[number];

/** Cilium's chart default for clustermesh.apiserver.tls.auto.certValidityDuration, in days. */
export const DEFAULT_CERT_VALIDITY_DAYS = 1095;

export interface TlsAuto {
  /** undefined: certificates are not renewed automatically (no method, or tls.auto.enabled=false). */
  readonly method?: TlsAutoMethod;
  /** Days; undefined: the default. */
  readonly certValidityDays?: number;
}

const PREFIX = "clustermesh.apiserver.tls.auto";

/**
 * What the values say about tls.auto, or undefined when they name none of it. A validity under a
 * day is accepted (fractions of a day), so that tests can watch renewals happen; Cilium's chart
 * only takes whole days.
 */
export function tlsAutoFromValues(values: Values): TlsAuto | undefined {
  const method = getPath(values, `${PREFIX}.method`);
  const enabled = getPath(values, `${PREFIX}.enabled`);
  const validity = getPath(values, `${PREFIX}.certValidityDuration`);
  if ([method, enabled, validity].every((v) => v === undefined || v === null)) return undefined;
  if (method !== undefined && method !== null && !TLS_AUTO_METHODS.includes(method as TlsAutoMethod)) {
    throw new ValuesError(`${PREFIX}.method must be one of ${TLS_AUTO_METHODS.join(", ")} (got ${JSON.stringify(method)})`);
  }
  if (enabled !== undefined && enabled !== null && typeof enabled !== "boolean") throw new ValuesError(`${PREFIX}.enabled must be true or false (got ${JSON.stringify(enabled)})`);
  let days: number | undefined;
  if (validity !== undefined && validity !== null) {
    days = typeof validity === "number" ? validity : typeof validity === "string" && validity.trim() !== "" ? Number(validity) : NaN;
    if (!(Number.isFinite(days) && days > 0)) {
      throw new ValuesError(`${PREFIX}.certValidityDuration must be a positive number of days, such as 1095 (got ${JSON.stringify(validity)})`);
    }
  }
  return {
    ...(enabled !== false && typeof method === "string" ? { method: method as TlsAutoMethod } : {}),
    ...(days !== undefined ? { certValidityDays: days } : {}),
  };
}

/** tls.auto from the values `trellis install`/`upgrade` stored, or undefined when they name none. */
export async function storedTlsAuto(store: KvStore): Promise<TlsAuto | undefined> {
  const kv = await store.get(keys.values());
  return kv ? tlsAutoFromValues(JSON.parse(kv.value.toString()) as Values) : undefined;
}
