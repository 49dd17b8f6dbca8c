import type { EndpointView, IdentityView, PolicyRepository } from "../agent/api-types.js";
import { formatTable } from "./output.js";

/**
 * Text layouts of the policy commands, after Cilium's: `policy get` prints the repository's rules as
 * JSON, each labelled with the policy it came from, then the revision; `endpoint list` and
 * `identity list` are tables with labels one per line.
 */

const K8S = "k8s";

/** The rules of one stored document, each with the labels naming its policy (Cilium's derived-from, name, namespace). */
function labelledRules(p: PolicyRepository["policies"][number]): unknown[] {
  const doc = (p.document ?? {}) as { spec?: unknown; specs?: unknown[] };
  const rules = [...(doc.spec === undefined ? [] : [doc.spec]), ...(Array.isArray(doc.specs) ? doc.specs : [])];
  const labels = [
    { key: "io.cilium.k8s.policy.derived-from", value: p.kind, source: K8S },
    { key: "io.cilium.k8s.policy.name", value: p.name, source: K8S },
    ...(p.namespace === undefined ? [] : [{ key: "io.cilium.k8s.policy.namespace", value: p.namespace, source: K8S }]),
  ];
  return rules.map((r) => ({ ...(typeof r === "object" && r !== null ? r : {}), labels }));
}

/** `trellis policy get`: the enforced rules as JSON, what is not enforced and why, and the revision. */
export function formatPolicyRepository(repo: PolicyRepository): string {
  const enforced = repo.policies.filter((p) => p.error === undefined);
  const lines = [JSON.stringify(enforced.flatMap(labelledRules), null, 2)];
  for (const p of repo.policies.filter((x) => x.error !== undefined)) {
    lines.push(`Not enforced: ${p.namespace === undefined ? "" : `${p.namespace}/`}${p.name} (${p.kind}): ${p.error}`);
  }
  lines.push(`Revision: ${repo.revision}`);
  return `${lines.join("\n")}\n`;
}

const onOff = (enforced: boolean) => (enforced ? "Enabled" : "Disabled");

/** `trellis endpoint list`: Cilium's columns (its two-line policy headers included), plus the node. */
export function formatEndpointTable(rows: readonly (EndpointView & { readonly node: string })[]): string {
  const headers = ["ENDPOINT", "NODE", "POLICY (ingress)", "POLICY (egress)", "IDENTITY", "LABELS (source:key[=value])", "IPv4", "STATUS"];
  const second = ["", "", "ENFORCEMENT", "ENFORCEMENT", "", "", "", ""];
  return formatTable(headers, [
    second,
    ...rows.map((e) => [e.containerId.slice(0, 12), e.node, onOff(e.policy.ingress.enforced), onOff(e.policy.egress.enforced), String(e.identity), e.labels.join("\n"), e.ip, e.status]),
  ]);
}

/** `trellis identity list`: every identity the agent knows, with the cluster that allocated it. */
export function formatIdentityTable(ids: readonly IdentityView[]): string {
  return formatTable(
    ["ID", "CLUSTER", "LABELS"],
    ids.map((i) => [String(i.id), i.cluster ?? "-", i.labels.join("\n")]),
  );
}
