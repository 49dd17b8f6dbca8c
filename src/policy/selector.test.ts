import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseLabel } from "../state/labels.js";
import type { EndpointSelector } from "./model.js";
import { formatSelector, normalizeSelectorKey, scopePeerSelector, scopeSubjectSelector, selectorMatches } from "./selector.js";

const labels = (...l: string[]) => l.map(parseLabel);
const sel = (matchLabels: Record<string, string>, matchExpressions: EndpointSelector["matchExpressions"] = []): EndpointSelector => ({ matchLabels, matchExpressions });

const client = labels("k8s:app=client", "k8s:io.cilium.k8s.policy.cluster=c1", "k8s:io.kubernetes.pod.namespace=default");

describe("matching", () => {
  test("keys without a source match any source; k8s: and reserved: keys only their own", () => {
    assert.equal(normalizeSelectorKey("app"), "any:app");
    assert.equal(normalizeSelectorKey("k8s:app"), "k8s:app");
    assert.equal(selectorMatches(sel({ "any:app": "client" }), client), true);
    assert.equal(selectorMatches(sel({ "k8s:app": "client" }), client), true);
    assert.equal(selectorMatches(sel({ "reserved:app": "client" }), client), false);
    assert.equal(selectorMatches(sel({ "reserved:host": "" }), labels("reserved:host")), true);
    assert.equal(selectorMatches(sel({ "k8s:host": "" }), labels("reserved:host")), false);
  });

  test("matchLabels need every label with that exact value", () => {
    assert.equal(selectorMatches(sel({ "any:app": "client", "any:io.cilium.k8s.policy.cluster": "c1" }), client), true);
    assert.equal(selectorMatches(sel({ "any:app": "client", "any:io.cilium.k8s.policy.cluster": "c2" }), client), false);
    assert.equal(selectorMatches(sel({ "any:app": "Client" }), client), false);
  });

  test("the four operators, with Kubernetes' meaning for absent labels", () => {
    const expr = (operator: "In" | "NotIn" | "Exists" | "DoesNotExist", key: string, values: string[] = []) => sel({}, [{ key, operator, values }]);
    assert.equal(selectorMatches(expr("In", "any:app", ["web", "client"]), client), true);
    assert.equal(selectorMatches(expr("In", "any:app", ["web"]), client), false);
    assert.equal(selectorMatches(expr("In", "any:tier", ["web"]), client), false, "In needs the label");
    assert.equal(selectorMatches(expr("NotIn", "any:app", ["web"]), client), true);
    assert.equal(selectorMatches(expr("NotIn", "any:app", ["client"]), client), false);
    assert.equal(selectorMatches(expr("NotIn", "any:tier", ["web"]), client), true, "an absent label is not in any set");
    assert.equal(selectorMatches(expr("Exists", "k8s:app"), client), true);
    assert.equal(selectorMatches(expr("Exists", "any:tier"), client), false);
    assert.equal(selectorMatches(expr("DoesNotExist", "any:tier"), client), true);
    assert.equal(selectorMatches(expr("DoesNotExist", "any:app"), client), false);
  });

  test("an empty selector matches every identity, reserved ones included", () => {
    assert.equal(selectorMatches(sel({}), client), true);
    assert.equal(selectorMatches(sel({}), labels("reserved:world")), true);
  });
});

describe("scoping peer selectors as Cilium's parser does", () => {
  const NS = "k8s:io.kubernetes.pod.namespace";
  const CL = "k8s:io.cilium.k8s.policy.cluster";

  test("a plain selector gets the policy's namespace and the local cluster", () => {
    assert.deepEqual(scopePeerSelector(sel({ "any:app": "client" }), { namespace: "shop", cluster: "c2" }), sel({ "any:app": "client", [NS]: "shop", [CL]: "c2" }));
  });

  test("without a cluster in the scope (the cluster-wide option) no cluster is added", () => {
    assert.deepEqual(scopePeerSelector(sel({ "any:app": "client" }), { namespace: "shop" }), sel({ "any:app": "client", [NS]: "shop" }));
  });

  test("a selector naming a cluster or a namespace, in any form, keeps its own", () => {
    const named = sel({ "any:io.cilium.k8s.policy.cluster": "c1", "any:io.kubernetes.pod.namespace": "other" });
    assert.deepEqual(scopePeerSelector(named, { namespace: "shop", cluster: "c2" }), named);
    const expr = sel({}, [{ key: CL, operator: "In", values: ["c1", "c3"] }]);
    assert.deepEqual(scopePeerSelector(expr, { namespace: "shop", cluster: "c2" }).matchLabels, { [NS]: "shop" });
  });

  test("selectors of reserved labels are left alone", () => {
    const host = sel({ "reserved:host": "" });
    assert.deepEqual(scopePeerSelector(host, { namespace: "shop", cluster: "c2" }), host);
  });

  test("namespace-label selectors are not pinned to the policy's namespace", () => {
    const byNsLabel = sel({ "k8s:io.cilium.k8s.namespace.labels.team": "a" });
    assert.deepEqual(scopePeerSelector(byNsLabel, { namespace: "shop", cluster: "c2" }), sel({ "k8s:io.cilium.k8s.namespace.labels.team": "a", [CL]: "c2" }));
  });

  test("in a clusterwide policy the peer must be a workload of some namespace", () => {
    const scoped = scopePeerSelector(sel({}), { cluster: "c2" });
    assert.deepEqual(scoped, sel({ [CL]: "c2" }, [{ key: NS, operator: "Exists", values: [] }]));
    assert.equal(selectorMatches(scoped, labels("reserved:world")), false);
  });

  test("subjects of a namespaced policy are pinned to its namespace; clusterwide ones are not", () => {
    assert.deepEqual(scopeSubjectSelector(sel({ "any:app": "web" }), "shop"), sel({ "any:app": "web", [NS]: "shop" }));
    assert.deepEqual(scopeSubjectSelector(sel({ "any:app": "web" }), undefined), sel({ "any:app": "web" }));
  });
});

test("formatSelector prints Cilium's JSON form with sorted keys", () => {
  assert.equal(formatSelector(sel({ "k8s:z": "1", "any:app": "web" })), '{"matchLabels":{"any:app":"web","k8s:z":"1"}}');
  assert.equal(formatSelector(sel({}, [{ key: "any:env", operator: "Exists", values: [] }])), '{"matchExpressions":[{"key":"any:env","operator":"Exists"}]}');
  assert.equal(formatSelector(sel({})), "{}");
});
