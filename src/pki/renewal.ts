import { clockSkewAllowanceMs, describeCertificate, isIssuedBy, type CertificateInfo } from "./certificates.js";

/**
 * When a certificate must be issued again. Renewal starts once less than a third of its life is
 * left (cert-manager's default, which Cilium's certmanager method inherits), so a missed check or
 * a failing renewal still leaves time before anything breaks.
 */
export const RENEW_FRACTION = 1 / 3;

export type RenewalReason =
  /** There is no certificate yet. */
  | "missing"
  /** What is stored is not a PEM certificate. */
  | "unreadable"
  /** It was issued by another CA than the cluster's current one (the CA was replaced). */
  | "other-ca"
  | "expired"
  /** Less than RENEW_FRACTION of its life is left. */
  | "due"
  /** It lives longer than the configured validity allows (the validity was lowered since). */
  | "longer-than-configured";

export type RenewalDecision =
  | { readonly renew: true; readonly reason: RenewalReason; readonly detail: string; readonly info?: CertificateInfo }
  | { readonly renew: false; readonly dueAt: Date; readonly info: CertificateInfo };

export interface RenewalPolicy {
  /** The life new certificates get, in milliseconds. */
  readonly validityMs: number;
  readonly now: Date;
  /** The certificate must chain to this CA (PEM); unchecked when absent. */
  readonly caPem?: string;
  /** Default RENEW_FRACTION. */
  readonly fraction?: number;
}

/** Certificate times have one-second precision: lifetimes are compared with this much slack. */
const PRECISION_MS = 2000;

/** Whether `certPem` must be issued again under `policy`, and if not, from when it will be. */
export function renewalDecision(certPem: string | undefined, policy: RenewalPolicy): RenewalDecision {
  if (certPem === undefined || certPem.trim() === "") return { renew: true, reason: "missing", detail: "no certificate yet" };
  let info: CertificateInfo;
  try {
    info = describeCertificate(certPem);
  } catch (e) {
    return { renew: true, reason: "unreadable", detail: `not a PEM certificate: ${(e as Error).message}` };
  }
  if (policy.caPem !== undefined && !isIssuedBy(certPem, policy.caPem)) {
    return { renew: true, reason: "other-ca", detail: `issued by "${info.issuerCommonName}", not by the cluster's current CA`, info };
  }
  const now = policy.now.getTime();
  const notAfter = info.notAfter.getTime();
  if (now >= notAfter) return { renew: true, reason: "expired", detail: `expired at ${info.notAfter.toISOString()}`, info };
  const life = notAfter - info.notBefore.getTime();
  // Whole milliseconds, as a Date holds them: the time reported is the time compared.
  const dueAt = Math.ceil(notAfter - life * (policy.fraction ?? RENEW_FRACTION));
  if (now >= dueAt) return { renew: true, reason: "due", detail: `expires at ${info.notAfter.toISOString()}, renewal due since ${new Date(dueAt).toISOString()}`, info };
  const allowed = policy.validityMs + clockSkewAllowanceMs(policy.validityMs) + PRECISION_MS;
  if (life > allowed) {
    return { renew: true, reason: "longer-than-configured", detail: `valid until ${info.notAfter.toISOString()}, longer than the configured validity of ${formatDuration(policy.validityMs)}`, info };
  }
  return { renew: false, dueAt: new Date(dueAt), info };
}

/** "1095 days", "3.5 hours", "40 seconds": a validity as a person reads it. */
export function formatDuration(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, "day"],
    [3_600_000, "hour"],
    [60_000, "minute"],
    [1000, "second"],
  ];
  for (const [size, name] of units) {
    if (ms >= size || size === 1000) {
      const n = Math.round((ms / size) * 10) / 10;
      return `${n} ${name}${n === 1 ? "" : "s"}`;
    }
  }
  return `${ms} ms`;
}
