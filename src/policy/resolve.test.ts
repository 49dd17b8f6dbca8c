import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { IDENTITY_HOST, IDENTITY_WORLD, IDENTITY_WORLD_IPV4 } from "../cluster/index.js";
import { parsePolicyManifests } from "./cnp.js";
import { decide } from "./decide.js";
import { PolicyResolver, resolveEndpointPolicy } from "./resolve.js";
import { identityCache, workload } from "./testing/mesh-fixture.js";

const web = workload("c1", 1, 1, { app: "web" });
const client = workload("c1", 1, 2, { app: "client" });
const db = workload("c1", 1, 3, { app: "db" });
const otherNsClient = workload("c1", 1, 4, { app: "client" }, "other");
const ids = identityCache(web, client, db, otherNsClient);
const opts = { localCluster: "c1" };

/** A policy in namespace default selecting app=web, with the given rule body (YAML under spec:). */
function webPolicy(body: string, extra = "") {
  return parsePolicyManifests(`apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: web
spec:
  endpointSelector:
    matchLabels:
      app: web
${body}
${extra}`);
}

describe("when a direction is enforced", () => {
  test("an endpoint no rule selects is open both ways", () => {
    const p = resolveEndpointPolicy(webPolicy("  ingress:\n  - {}"), ids, db.labels, opts);
    assert.deepEqual(p.ingress, { enforced: false, allow: new Set(), deny: new Set(), reasons: { allow: new Map(), deny: new Map() }, selectedBy: [] });
    assert.equal(p.egress.enforced, false);
  });

  test("ingress: [{}] enforces ingress and allows nothing (Cilium's deny-all)", () => {
    const p = resolveEndpointPolicy(webPolicy("  ingress:\n  - {}"), ids, web.labels, opts);
    assert.equal(p.ingress.enforced, true);
    assert.equal(p.ingress.allow.size, 0);
    assert.equal(decide(client.identity, p.ingress, "TCP", 80).reason, "default-deny");
    assert.equal(p.egress.enforced, false, "the other direction is untouched");
  });

  test("ingress: [] is no ingress section at all", () => {
    const p = resolveEndpointPolicy(webPolicy("  ingress: []\n  egress:\n  - toEntities: [world]"), ids, web.labels, opts);
    assert.equal(p.ingress.enforced, false);
    assert.equal(p.egress.enforced, true);
  });

  test("a deny-only rule enforces the direction too, unless enableDefaultDeny turns that off", () => {
    const denyOnly = "  ingressDeny:\n  - fromEndpoints:\n    - matchLabels: {app: db}";
    const enforced = resolveEndpointPolicy(webPolicy(denyOnly), ids, web.labels, opts);
    assert.equal(enforced.ingress.enforced, true);
    assert.equal(decide(client.identity, enforced.ingress, "TCP", 80).verdict, "denied");

    const lenient = resolveEndpointPolicy(webPolicy(`${denyOnly}\n  enableDefaultDeny: {ingress: false}`), ids, web.labels, opts);
    assert.equal(lenient.ingress.enforced, false);
    assert.equal(decide(client.identity, lenient.ingress, "TCP", 80).verdict, "allowed");
    assert.equal(decide(db.identity, lenient.ingress, "TCP", 80).verdict, "denied", "the deny rule still applies");
  });

  test("one default-deny rule among lenient ones enforces the direction", () => {
    const policies = [
      ...webPolicy("  ingress:\n  - fromEndpoints: [{matchLabels: {app: client}}]\n  enableDefaultDeny: {ingress: false}"),
      ...parsePolicyManifests("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: strict}\nspec:\n  endpointSelector: {}\n  ingress:\n  - {}\n"),
    ];
    const p = resolveEndpointPolicy(policies, ids, web.labels, opts);
    assert.equal(p.ingress.enforced, true);
    assert.equal(decide(client.identity, p.ingress, "TCP", 80).verdict, "allowed");
    assert.equal(decide(db.identity, p.ingress, "TCP", 80).verdict, "denied");
    assert.deepEqual(p.ingress.selectedBy.map((o) => o.policy), ["default/web", "default/strict"]);
  });
});

describe("keys", () => {
  test("an L3-only rule allows its peers on every protocol and port", () => {
    const p = resolveEndpointPolicy(webPolicy("  ingress:\n  - fromEndpoints: [{matchLabels: {app: client}}]"), ids, web.labels, opts);
    assert.deepEqual([...p.ingress.allow], [`${client.identity}/0/0`]);
  });

  test("toPorts without peers allows every peer (identity 0) on those ports", () => {
    const p = resolveEndpointPolicy(webPolicy('  ingress:\n  - toPorts: [{ports: [{port: "443", protocol: TCP}, {port: "53"}]}]'), ids, web.labels, opts);
    assert.deepEqual([...p.ingress.allow], ["0/6/443", "0/0/53"]);
    assert.equal(decide(IDENTITY_WORLD, p.ingress, "TCP", 443).verdict, "allowed");
    assert.equal(decide(IDENTITY_WORLD, p.ingress, "UDP", 53).verdict, "allowed");
  });

  test("an explicit empty peer list selects nothing, even with ports", () => {
    const p = resolveEndpointPolicy(webPolicy('  ingress:\n  - fromEndpoints: []\n    toPorts: [{ports: [{port: "80"}]}]'), ids, web.labels, opts);
    assert.equal(p.ingress.enforced, true);
    assert.equal(p.ingress.allow.size, 0);
  });

  test("port ranges become range keys", () => {
    const p = resolveEndpointPolicy(
      webPolicy('  ingress:\n  - fromEndpoints: [{matchLabels: {app: client}}]\n    toPorts: [{ports: [{port: "8000", endPort: 8080, protocol: TCP}]}]'),
      ids,
      web.labels,
      opts,
    );
    assert.deepEqual([...p.ingress.allow], [`${client.identity}/6/8000-8080`]);
    assert.equal(decide(client.identity, p.ingress, "TCP", 8042).verdict, "allowed");
    assert.equal(decide(client.identity, p.ingress, "TCP", 8081).verdict, "denied");
  });

  test("reserved identities are always known: world and host resolve without being in the cache", () => {
    const p = resolveEndpointPolicy(webPolicy("  egress:\n  - toEntities: [world, host]"), new Map(), web.labels, opts);
    assert.deepEqual([...p.egress.allow].sort(), ["10/0/0", `${IDENTITY_HOST}/0/0`, `${IDENTITY_WORLD}/0/0`, `${IDENTITY_WORLD_IPV4}/0/0`].sort());
  });

  test("each key remembers every rule item that produced it", () => {
    const p = resolveEndpointPolicy(
      webPolicy("  ingress:\n  - fromEndpoints: [{matchLabels: {app: client}}]\n  - fromEndpoints: [{matchExpressions: [{key: app, operator: In, values: [client, db]}]}]"),
      ids,
      web.labels,
      opts,
    );
    assert.deepEqual(p.ingress.reasons.allow.get(`${client.identity}/0/0`)?.map((o) => o.path), ["spec.ingress[0]", "spec.ingress[1]"]);
    assert.deepEqual(p.ingress.reasons.allow.get(`${db.identity}/0/0`)?.map((o) => o.path), ["spec.ingress[1]"]);
  });
});

describe("deny wins over allow", () => {
  test("a deny rule beats an allow rule covering the same flow, only where it applies", () => {
    const p = resolveEndpointPolicy(
      webPolicy(
        '  ingress:\n  - fromEndpoints: [{matchLabels: {app: client}}]\n  ingressDeny:\n  - fromEndpoints: [{matchLabels: {app: client}}]\n    toPorts: [{ports: [{port: "22", protocol: TCP}]}]',
      ),
      ids,
      web.labels,
      opts,
    );
    const ssh = decide(client.identity, p.ingress, "TCP", 22);
    assert.equal(ssh.verdict, "denied");
    assert.equal(ssh.reason, "denied-by-rule");
    assert.deepEqual(ssh.rules.map((o) => o.path), ["spec.ingressDeny[0]"]);
    assert.equal(decide(client.identity, p.ingress, "TCP", 80).verdict, "allowed");
  });

  test("a deny from another policy beats an allow-all entity", () => {
    const policies = [
      ...webPolicy("  egress:\n  - toEntities: [all]"),
      ...parsePolicyManifests("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: no-world}\nspec:\n  endpointSelector: {}\n  egressDeny:\n  - toEntities: [world]\n"),
    ];
    const p = resolveEndpointPolicy(policies, ids, web.labels, opts);
    assert.equal(decide(IDENTITY_WORLD, p.egress, "TCP", 443).verdict, "denied");
    assert.equal(decide(db.identity, p.egress, "TCP", 5432).verdict, "allowed");
  });
});

describe("namespaces", () => {
  test("a namespaced policy selects endpoints of its namespace only", () => {
    const p = webPolicy("  ingress:\n  - {}");
    const otherWeb = workload("c1", 1, 9, { app: "web" }, "other");
    assert.equal(resolveEndpointPolicy(p, ids, otherWeb.labels, opts).ingress.enforced, false);
  });

  test("its peers are in its namespace unless the selector names one", () => {
    const same = resolveEndpointPolicy(webPolicy("  ingress:\n  - fromEndpoints: [{matchLabels: {app: client}}]"), ids, web.labels, opts);
    assert.equal(decide(otherNsClient.identity, same.ingress, "TCP", 80).verdict, "denied");
    const named = resolveEndpointPolicy(webPolicy("  ingress:\n  - fromEndpoints: [{matchLabels: {app: client, k8s:io.kubernetes.pod.namespace: other}}]"), ids, web.labels, opts);
    assert.equal(decide(otherNsClient.identity, named.ingress, "TCP", 80).verdict, "allowed");
    assert.equal(decide(client.identity, named.ingress, "TCP", 80).verdict, "denied");
  });

  test("a clusterwide policy selects every namespace, and {} peers mean workloads of any namespace", () => {
    const ccnp = parsePolicyManifests(
      "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: all-web}\nspec:\n  endpointSelector: {matchLabels: {app: web}}\n  ingress:\n  - fromEndpoints: [{}]\n",
    );
    const otherWeb = workload("c1", 1, 9, { app: "web" }, "other");
    const p = resolveEndpointPolicy(ccnp, ids, otherWeb.labels, opts);
    assert.equal(p.ingress.enforced, true);
    assert.equal(decide(otherNsClient.identity, p.ingress, "TCP", 80).verdict, "allowed");
    assert.equal(decide(client.identity, p.ingress, "TCP", 80).verdict, "allowed");
    assert.equal(decide(IDENTITY_WORLD, p.ingress, "TCP", 80).verdict, "denied");
    assert.deepEqual(p.ingress.selectedBy, [{ policy: "all-web", kind: "CiliumClusterwideNetworkPolicy", path: "spec" }]);
  });
});

test("a resolver serves many endpoints of one snapshot with the same answers as one-off resolution", () => {
  const policies = [...webPolicy("  ingress:\n  - fromEndpoints: [{matchLabels: {app: client}}]\n  egress:\n  - toEndpoints: [{matchLabels: {app: db}}]")];
  const resolver = new PolicyResolver(policies, ids, opts);
  for (const ep of [web, client, db]) assert.deepEqual(resolver.resolve(ep.labels), resolveEndpointPolicy(policies, ids, ep.labels, opts));
});

test("options are checked", () => {
  assert.throws(() => new PolicyResolver([], ids, { localCluster: "C1" }), /localCluster "C1" is not a cluster name/);
});
