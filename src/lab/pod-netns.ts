import { createHash } from "node:crypto";
import { LAB_PREFIX } from "./address-plan.js";
import { netnsPath } from "../util/netns.js";

/** The path a runtime hands the CNI plugin as CNI_NETNS. */
export { netnsPath };

/**
 * A pod's network namespace in the lab: `<prefix>c<cluster>-pod-<8 hex of sha256("<ns>/<name>")>`.
 * Hashing keeps the name short and filesystem-safe whatever the pod's namespace and name are; the
 * cluster index keeps two clusters' pods of the same name apart; the prefix lets `lab down` (and a
 * test's cleanup) find exactly what was made.
 */

const PREFIX_CHARS = /^[A-Za-z0-9_.-]*$/;

export class PodNetnsNameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PodNetnsNameError";
  }
}

/** The common start of every pod namespace name of one cluster. */
export function podNetnsNamePrefix(clusterIndex: number, prefix: string = LAB_PREFIX): string {
  if (!Number.isInteger(clusterIndex) || clusterIndex < 1) {
    throw new PodNetnsNameError(`cluster index must be a positive integer (got ${JSON.stringify(clusterIndex)})`);
  }
  if (!PREFIX_CHARS.test(prefix) || prefix.length > 64) {
    throw new PodNetnsNameError(`netns name prefix ${JSON.stringify(prefix)} may hold only letters, digits, "_", "." and "-" (at most 64)`);
  }
  return `${prefix}c${clusterIndex}-pod-`;
}

export function podNetnsName(clusterIndex: number, namespace: string, name: string, prefix: string = LAB_PREFIX): string {
  if (namespace === "" || name === "" || namespace.includes("/") || name.includes("/")) {
    throw new PodNetnsNameError(`a pod needs a namespace and a name without "/" (got ${JSON.stringify(`${namespace}/${name}`)})`);
  }
  const hash = createHash("sha256").update(`${namespace}/${name}`).digest("hex").slice(0, 8);
  return `${podNetnsNamePrefix(clusterIndex, prefix)}${hash}`;
}

