/**
 * Security labels and the label string that is an identity's value in the kvstore:
 * `source:key=value;` per label, sorted by key, each one ending in ';' (Cilium's SortedList),
 * e.g. `k8s:app=web;k8s:io.cilium.k8s.policy.cluster=c1;k8s:io.kubernetes.pod.namespace=default;`.
 * The trailing ';' matters: the kvstore allocator finds an identity by that exact string.
 */

export interface Label {
  /** Where the label comes from: "k8s", "reserved", "container", "cidr", ... */
  readonly source: string;
  readonly key: string;
  /** "" for labels without a value, such as reserved:host. */
  readonly value: string;
}

export const LABEL_SOURCE_K8S = "k8s";
export const LABEL_SOURCE_RESERVED = "reserved";
export const LABEL_SOURCE_CONTAINER = "container";
export const LABEL_SOURCE_CIDR = "cidr";
export const LABEL_SOURCE_UNSPEC = "unspec";

/** The label naming the cluster that owns a workload: `k8s:io.cilium.k8s.policy.cluster=<cluster>`. */
export const POLICY_CLUSTER_LABEL = "io.cilium.k8s.policy.cluster";
export const POD_NAMESPACE_LABEL = "io.kubernetes.pod.namespace";
export const SERVICE_ACCOUNT_LABEL = "io.cilium.k8s.policy.serviceaccount";

const SOURCE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Why a label cannot be written to the kvstore, or undefined. */
export function labelProblem(label: Label): string | undefined {
  if (!SOURCE.test(label.source)) return `source ${JSON.stringify(label.source)} must be letters, digits, '_', '.' or '-'`;
  if (label.key === "") return "the key must not be empty";
  if (/[;=]/.test(label.key)) return `key ${JSON.stringify(label.key)} must not contain ';' or '='`;
  if (label.value.includes(";")) return `value ${JSON.stringify(label.value)} must not contain ';'`;
  return undefined;
}

/** The printable form: `source:key=value`, or `source:key` when the value is empty. */
export function labelToString(label: Label): string {
  return label.value === "" ? `${label.source}:${label.key}` : `${label.source}:${label.key}=${label.value}`;
}

/**
 * Reads the printable form, with Cilium's conventions: text before the first ':' is the source
 * ("unspec" when there is none), text after the first '=' is the value.
 */
export function parseLabel(text: string): Label {
  const colon = text.indexOf(":");
  const source = colon < 0 ? LABEL_SOURCE_UNSPEC : text.slice(0, colon);
  const rest = colon < 0 ? text : text.slice(colon + 1);
  const eq = rest.indexOf("=");
  return eq < 0 ? { source, key: rest, value: "" } : { source, key: rest.slice(0, eq), value: rest.slice(eq + 1) };
}

function compareKeys(a: Label, b: Label): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * The kvstore label string: sorted by key, `source:key=value;` each. Throws a TypeError naming
 * the label when one cannot be written or two share a key (Cilium keeps one label per key).
 */
export function formatLabelList(labels: readonly Label[]): string {
  const sorted = [...labels].sort(compareKeys);
  let out = "";
  for (let i = 0; i < sorted.length; i++) {
    const label = sorted[i]!;
    const why = labelProblem(label);
    if (why !== undefined) throw new TypeError(`label ${JSON.stringify(labelToString(label))} cannot be stored: ${why}`);
    if (i > 0 && sorted[i - 1]!.key === label.key) {
      throw new TypeError(`labels ${JSON.stringify(labelToString(sorted[i - 1]!))} and ${JSON.stringify(labelToString(label))} share the key ${JSON.stringify(label.key)}`);
    }
    out += `${label.source}:${label.key}=${label.value};`;
  }
  return out;
}

/**
 * Reads a kvstore label string. Labels come back sorted by key whatever their order in the text
 * (Cilium parses unsorted lists the same way). Every entry must be `source:key=value;`.
 */
export function parseLabelList(text: string): Label[] | { readonly problem: string } {
  if (text === "") return { problem: "the label list is empty" };
  if (!text.endsWith(";")) return { problem: "the label list must end with ';'" };
  const labels: Label[] = [];
  let start = 0;
  while (start < text.length) {
    const end = text.indexOf(";", start);
    const entry = text.slice(start, end);
    start = end + 1;
    const colon = entry.indexOf(":");
    const eq = entry.indexOf("=", colon + 1);
    if (colon <= 0 || eq < 0) return { problem: `entry ${JSON.stringify(entry)} is not source:key=value` };
    const label: Label = { source: entry.slice(0, colon), key: entry.slice(colon + 1, eq), value: entry.slice(eq + 1) };
    const why = labelProblem(label);
    if (why !== undefined) return { problem: `entry ${JSON.stringify(entry)}: ${why}` };
    labels.push(label);
  }
  labels.sort(compareKeys);
  for (let i = 1; i < labels.length; i++) {
    if (labels[i - 1]!.key === labels[i]!.key) return { problem: `two labels share the key ${JSON.stringify(labels[i]!.key)}` };
  }
  return labels;
}
