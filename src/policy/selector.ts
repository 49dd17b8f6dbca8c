import { RESERVED_IDENTITIES } from "../cluster/index.js";
import { LABEL_SOURCE_K8S, LABEL_SOURCE_RESERVED, POD_NAMESPACE_LABEL, POLICY_CLUSTER_LABEL, type Label } from "../state/labels.js";
import type { EndpointSelector, SelectorExpression } from "./model.js";

/**
 * Endpoint selectors: Kubernetes label selectors over an identity's security labels, with Cilium's
 * key convention. A key names its source (`k8s:app`, `reserved:host`); a key written without one
 * (`app`) gets the source `any`, which matches a label of that key from any source, as Cilium's
 * policy parser does. Models keep keys as `source:key` with the source always spelled out.
 */

export const SOURCE_ANY = "any";

/** Sources a selector may name: Trellis identities carry only k8s and reserved labels. */
export const SELECTOR_SOURCES: readonly string[] = [LABEL_SOURCE_K8S, SOURCE_ANY, LABEL_SOURCE_RESERVED];

/** Label keys of the reserved source, as the reserved identities carry them, plus Cilium's never-present `none`. */
export const RESERVED_LABEL_KEYS: readonly string[] = [
  ...new Set([...RESERVED_IDENTITIES.flatMap((r) => r.labels.map((l) => l.slice(LABEL_SOURCE_RESERVED.length + 1))), "none"]),
];

const NAMESPACE_LABELS_PREFIX = "io.cilium.k8s.namespace.labels.";

export interface SelectorLabelKey {
  readonly source: string;
  readonly key: string;
}

/** Splits `k8s:app` into source and key; a key without a source gets `any`. */
export function splitSelectorKey(text: string): SelectorLabelKey {
  const colon = text.indexOf(":");
  if (colon < 0) return { source: SOURCE_ANY, key: text };
  return { source: text.slice(0, colon), key: text.slice(colon + 1) };
}

/** The stored form of a key as written by a user: `app` becomes `any:app`, `k8s:app` stays. */
export function normalizeSelectorKey(text: string): string {
  const { source, key } = splitSelectorKey(text);
  return `${source}:${key}`;
}

const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** Why a selector key (as written, e.g. `k8s:app`) cannot be used, or undefined. */
export function selectorKeyProblem(text: string): string | undefined {
  const { source, key } = splitSelectorKey(text);
  if (!SELECTOR_SOURCES.includes(source)) {
    return `label source ${JSON.stringify(source)} is not one Trellis identities carry; use ${SELECTOR_SOURCES.map((s) => `"${s}:"`).join(", ")} or no prefix`;
  }
  if (source === LABEL_SOURCE_RESERVED) {
    if (!RESERVED_LABEL_KEYS.includes(key)) return `"reserved:${key}" is not a reserved label; reserved labels are ${RESERVED_LABEL_KEYS.join(", ")}`;
    return undefined;
  }
  const slash = key.lastIndexOf("/");
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return `label key prefix ${JSON.stringify(prefix)} must be a DNS subdomain (lower-case letters, digits, '-' and '.')`;
  }
  if (!LABEL_NAME.test(name)) {
    return `label name ${JSON.stringify(name)} must be at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric`;
  }
  return undefined;
}

/** Why a value cannot be matched against the label `text` (a selector key as written), or undefined. */
export function selectorValueProblem(text: string, value: string): string | undefined {
  const { source } = splitSelectorKey(text);
  if (source === LABEL_SOURCE_RESERVED) return value === "" ? undefined : `reserved labels have no value: write "" (got ${JSON.stringify(value)})`;
  if (!LABEL_VALUE.test(value)) {
    return `label value ${JSON.stringify(value)} must be at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric`;
  }
  return undefined;
}

/** The value of the label a stored key refers to, or undefined when the labels lack it. */
function labelValue(labels: readonly Label[], storedKey: string): string | undefined {
  const { source, key } = splitSelectorKey(storedKey);
  for (const l of labels) {
    if (l.key === key && (source === SOURCE_ANY || l.source === source)) return l.value;
  }
  return undefined;
}

function expressionMatches(e: SelectorExpression, labels: readonly Label[]): boolean {
  const value = labelValue(labels, e.key);
  switch (e.operator) {
    case "In":
      return value !== undefined && e.values.includes(value);
    case "NotIn":
      // Kubernetes semantics: a label that is absent is "not in" any set.
      return value === undefined || !e.values.includes(value);
    case "Exists":
      return value !== undefined;
    case "DoesNotExist":
      return value === undefined;
  }
}

/** True when every matchLabels entry and every expression holds for these labels. */
export function selectorMatches(selector: EndpointSelector, labels: readonly Label[]): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels)) {
    if (labelValue(labels, key) !== value) return false;
  }
  return selector.matchExpressions.every((e) => expressionMatches(e, labels));
}

/** A selector with no requirement selects every identity, known or yet to come. */
export function isWildcardSelector(selector: EndpointSelector): boolean {
  return Object.keys(selector.matchLabels).length === 0 && selector.matchExpressions.length === 0;
}

export function hasSelectorKey(selector: EndpointSelector, storedKey: string): boolean {
  return Object.hasOwn(selector.matchLabels, storedKey) || selector.matchExpressions.some((e) => e.key === storedKey);
}

function hasSelectorKeyPrefix(selector: EndpointSelector, prefix: string): boolean {
  return Object.keys(selector.matchLabels).some((k) => k.startsWith(prefix)) || selector.matchExpressions.some((e) => e.key.startsWith(prefix));
}

function withMatch(selector: EndpointSelector, storedKey: string, value: string): EndpointSelector {
  return { matchLabels: { ...selector.matchLabels, [storedKey]: value }, matchExpressions: selector.matchExpressions };
}

const K8S_NAMESPACE_KEY = `${LABEL_SOURCE_K8S}:${POD_NAMESPACE_LABEL}`;
const ANY_NAMESPACE_KEY = `${SOURCE_ANY}:${POD_NAMESPACE_LABEL}`;
const K8S_CLUSTER_KEY = `${LABEL_SOURCE_K8S}:${POLICY_CLUSTER_LABEL}`;
const ANY_CLUSTER_KEY = `${SOURCE_ANY}:${POLICY_CLUSTER_LABEL}`;

/** True when a selector names the cluster of the workloads it selects (with either source, in any form). */
export function selectorNamesCluster(selector: EndpointSelector): boolean {
  return hasSelectorKey(selector, K8S_CLUSTER_KEY) || hasSelectorKey(selector, ANY_CLUSTER_KEY);
}

/** True when a selector names the namespace of the workloads it selects. */
export function selectorNamesNamespace(selector: EndpointSelector): boolean {
  return hasSelectorKey(selector, K8S_NAMESPACE_KEY) || hasSelectorKey(selector, ANY_NAMESPACE_KEY);
}

export interface PeerScope {
  /** The policy's namespace; undefined for a clusterwide policy. */
  readonly namespace?: string;
  /**
   * The cluster a selector without a cluster label is limited to (Cilium 1.19's
   * policy-default-local-cluster); undefined when such a selector matches every cluster.
   */
  readonly cluster?: string;
}

/**
 * The selector a peer selector (fromEndpoints / toEndpoints) really applies, as Cilium's policy
 * parser makes it: selectors of reserved labels are left alone; otherwise a selector that does
 * not name a namespace is limited to the policy's namespace (or, in a clusterwide policy, to
 * workloads that have one), and one that does not name a cluster is limited to `scope.cluster`.
 */
export function scopePeerSelector(selector: EndpointSelector, scope: PeerScope): EndpointSelector {
  if (hasSelectorKeyPrefix(selector, `${LABEL_SOURCE_RESERVED}:`)) return selector;
  let out = selector;
  if (!selectorNamesNamespace(out)) {
    if (scope.namespace === undefined) {
      out = { matchLabels: out.matchLabels, matchExpressions: [...out.matchExpressions, { key: K8S_NAMESPACE_KEY, operator: "Exists", values: [] }] };
    } else if (!hasSelectorKeyPrefix(out, `${LABEL_SOURCE_K8S}:${NAMESPACE_LABELS_PREFIX}`) && !hasSelectorKeyPrefix(out, `${SOURCE_ANY}:${NAMESPACE_LABELS_PREFIX}`)) {
      out = withMatch(out, K8S_NAMESPACE_KEY, scope.namespace);
    }
  }
  if (scope.cluster !== undefined && !selectorNamesCluster(out)) out = withMatch(out, K8S_CLUSTER_KEY, scope.cluster);
  return out;
}

/** The endpoints a rule applies to: a namespaced policy only ever selects endpoints of its own namespace. */
export function scopeSubjectSelector(selector: EndpointSelector, namespace: string | undefined): EndpointSelector {
  if (namespace === undefined || hasSelectorKey(selector, `${LABEL_SOURCE_RESERVED}:init`)) return selector;
  return withMatch(selector, K8S_NAMESPACE_KEY, namespace);
}

/** Cilium's JSON form, as `cilium policy trace` prints selectors: `{"matchLabels":{"any:app":"web"}}`. */
export function formatSelector(selector: EndpointSelector): string {
  const out: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] } = {};
  const keys = Object.keys(selector.matchLabels).sort();
  if (keys.length > 0) out.matchLabels = Object.fromEntries(keys.map((k) => [k, selector.matchLabels[k]!]));
  if (selector.matchExpressions.length > 0) {
    out.matchExpressions = selector.matchExpressions.map((e) => (e.values.length > 0 ? { key: e.key, operator: e.operator, values: [...e.values] } : { key: e.key, operator: e.operator }));
  }
  return JSON.stringify(out);
}
