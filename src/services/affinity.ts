import type { Affinity } from "../resources/service.js";

/**
 * Which backends of a global service take new connections, by its affinity (Cilium 1.18):
 *   - none: every backend;
 *   - local: the local backends, and the remote ones only while no local backend is active
 *     (failover when the local ones are gone or all terminating);
 *   - remote: the mirror image.
 * A terminating backend never takes new connections, but stays in the list so the connections it
 * already has run to their end. "Preferred" marks the affinity's side, whether or not it is
 * active, as Cilium's service list marks it.
 */

export interface AffinityCandidate {
  readonly local: boolean;
  readonly terminating: boolean;
}

export interface BackendSelection {
  /** Takes new connections. */
  readonly active: boolean;
  /** On the side the affinity names. */
  readonly preferred: boolean;
}

/**
 * The affinity that applies: only a global service has remote backends to prefer or avoid, so
 * Cilium ignores the affinity annotation on a service that is not global.
 */
export function effectiveAffinity(global: boolean, affinity: Affinity): Affinity {
  return global ? affinity : "none";
}

/** Each backend with its selection, in the order given. */
export function selectBackends<T extends AffinityCandidate>(affinity: Affinity, backends: readonly T[]): (T & BackendSelection)[] {
  if (affinity === "none") return backends.map((b) => ({ ...b, active: !b.terminating, preferred: false }));
  const preferLocal = affinity === "local";
  const preferredServes = backends.some((b) => b.local === preferLocal && !b.terminating);
  return backends.map((b) => {
    const preferred = b.local === preferLocal;
    return { ...b, active: !b.terminating && (preferred || !preferredServes), preferred };
  });
}
