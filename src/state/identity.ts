import { checkAllocatedIdentity, checkClusterName, checkSameCluster } from "./cluster-checks.js";
import { reject, type Where } from "./go-json.js";
import { identityKey, parseKey } from "./keys.js";
import { LABEL_SOURCE_K8S, POLICY_CLUSTER_LABEL, formatLabelList, parseLabelList, type Label } from "./labels.js";
import { parseIp } from "./ip.js";
import { RecordError, describeValue, runDecoder, valueText, type DecodeContext, type DecodeResult } from "./record-error.js";

/**
 * Security identities: cilium/state/identities/v1/id/<id> holds the identity's label string
 * (see labels.ts), KVStoreMesh's copy lives at cilium/cache/identities/v1/<cluster>/id/<id>.
 * Each node using an identity also holds a reference, cilium/state/identities/v1/value/<labels>/<node-ip>,
 * whose value is the identity number; references stay in their own cluster.
 */

export interface IdentityRecord {
  readonly id: number;
  /** Sorted by key. */
  readonly labels: readonly Label[];
}

export interface IdentityReference {
  /** The label string of the identity, exactly as in the key. */
  readonly labelList: string;
  readonly labels: readonly Label[];
  /** The node holding the reference (its IP, Cilium's node suffix). */
  readonly node: string;
  readonly id: number;
}

const WHAT = "identity";
const REF_WHAT = "identity reference";

/**
 * Reads an identity stored at `key`. Without `ctx.cluster` the number must be an allocatable
 * global identity (256..2^24-1). With it, the number must lie in that cluster's range and the
 * labels must include `k8s:io.cilium.k8s.policy.cluster=<that cluster>`, as Cilium checks remote
 * identities.
 */
export function decodeIdentity(key: string, value: Buffer | Uint8Array | string, ctx?: DecodeContext): DecodeResult<IdentityRecord> {
  return runDecoder(key, WHAT, () => readIdentity(key, value, ctx));
}

function readIdentity(key: string, value: unknown, ctx: DecodeContext | undefined): IdentityRecord {
  const where: Where = { key, what: WHAT };
  const source = ctx?.cluster;
  const parsed = parseKey(key);
  if (parsed?.type !== "identity") {
    reject(where, "invalid-key", undefined, "the key is not an identity key (cilium/state/identities/v1/id/<id> or cilium/cache/identities/v1/<cluster>/id/<id>, with a decimal id)");
  }
  if (parsed.cluster !== undefined) {
    checkClusterName(where, parsed.cluster, undefined, "the key's cluster name");
    checkSameCluster(where, source, parsed.cluster, undefined);
  }
  checkAllocatedIdentity(where, source, parsed.id, undefined);

  const labels = readLabels(where, valueText(key, WHAT, value));
  if (source !== undefined) {
    const clusterLabel = labels.find((l) => l.key === POLICY_CLUSTER_LABEL);
    if (clusterLabel === undefined) {
      reject(where, "cluster-mismatch", undefined, `the labels lack ${LABEL_SOURCE_K8S}:${POLICY_CLUSTER_LABEL}=${source.name}, which every identity of cluster ${describeValue(source.name)} carries`);
    }
    if (clusterLabel.source !== LABEL_SOURCE_K8S || clusterLabel.value !== source.name) {
      reject(where, "cluster-mismatch", undefined, `the label ${clusterLabel.source}:${POLICY_CLUSTER_LABEL}=${clusterLabel.value} does not name cluster ${describeValue(source.name)} (want ${LABEL_SOURCE_K8S}:${POLICY_CLUSTER_LABEL}=${source.name})`);
    }
  }
  return { id: parsed.id, labels };
}

function readLabels(where: Where, text: string): Label[] {
  const labels = parseLabelList(text);
  if (!Array.isArray(labels)) reject(where, "invalid-label", undefined, `the value is not a label string: ${labels.problem} (got ${describeValue(text)})`);
  return labels;
}

/** The label string Cilium stores for this identity. Throws a RecordError for what decodeIdentity would refuse. */
export function encodeIdentity(identity: IdentityRecord): string {
  let key: string;
  try {
    key = identityKey(identity.id);
  } catch (e) {
    const k = `cilium/state/identities/v1/id/${String(identity.id)}`;
    throw new RecordError("identity-out-of-range", k, undefined, `${WHAT} ${k}: ${(e as Error).message}`);
  }
  let out: string;
  try {
    out = formatLabelList(identity.labels);
  } catch (e) {
    throw new RecordError("invalid-label", key, undefined, `${WHAT} ${key}: ${(e as Error).message}`);
  }
  const check = decodeIdentity(key, out);
  if (!check.ok) throw check.error;
  return out;
}

/** Reads a node's reference on an identity (cilium/state/identities/v1/value/<labels>/<node-ip> -> id). */
export function decodeIdentityReference(key: string, value: Buffer | Uint8Array | string): DecodeResult<IdentityReference> {
  return runDecoder(key, REF_WHAT, () => {
    const where: Where = { key, what: REF_WHAT };
    const parsed = parseKey(key);
    if (parsed?.type !== "identity-value") {
      reject(where, "invalid-key", undefined, "the key is not an identity reference key (cilium/state/identities/v1/value/<labels>/<node-ip>)");
    }
    const labels = readLabels(where, parsed.labels);
    if (parseIp(parsed.node) === undefined) reject(where, "invalid-key", undefined, `the node suffix ${describeValue(parsed.node)} is not an IP address`);
    const text = valueText(key, REF_WHAT, value);
    if (!/^[1-9][0-9]{0,9}$/.test(text)) reject(where, "wrong-type", undefined, `the value must be a decimal identity number (got ${describeValue(text)})`);
    const id = Number(text);
    checkAllocatedIdentity(where, undefined, id, undefined);
    return { labelList: parsed.labels, labels, node: parsed.node, id };
  });
}

/** The value of a reference key: the identity number in decimal. */
export function encodeIdentityReference(id: number): string {
  if (!Number.isInteger(id) || id < 1 || id > 0xffffff) throw new RangeError(`identity ${describeValue(id)} is not a global identity (1..16777215)`);
  return String(id);
}
