import assert from "node:assert/strict";
import { test } from "node:test";
import { endpointsAffectedByIdentity, endpointsAffectedByPolicy } from "./affected.js";
import { parsePolicyManifests } from "./cnp.js";
import { PolicyResolver } from "./resolve.js";
import { identityCache, workload } from "./testing/mesh-fixture.js";

const echo = { name: "echo", ...workload("c2", 2, 1, { app: "echo" }) };
const web = { name: "web", ...workload("c2", 2, 2, { app: "web" }) };
const db = { name: "db", ...workload("c2", 2, 3, { app: "db" }) };
const endpoints = [echo, web, db];
const opts = { localCluster: "c2", defaultLocalCluster: false };

const [echoPolicy, webPolicy] = parsePolicyManifests(`
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: echo}
spec:
  endpointSelector: {matchLabels: {app: echo}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: client}}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web}
spec:
  endpointSelector: {matchLabels: {app: web}}
  ingress:
  - toPorts: [{ports: [{port: "80"}]}]
  egress:
  - toEntities: [all]
`);
const policies = [echoPolicy!, webPolicy!];

test("a new identity affects the endpoints whose rules name it, and only those", () => {
  const newClient = workload("c1", 1, 7, { app: "client", version: "v2" });
  assert.deepEqual(endpointsAffectedByIdentity(policies, endpoints, newClient.labels, opts).map((e) => e.name), ["echo"]);
  const newDb = workload("c1", 1, 8, { app: "db" });
  assert.deepEqual(endpointsAffectedByIdentity(policies, endpoints, newDb.labels, opts), [], "wildcard peers already cover it");
});

test("what the helper reports matches what recomputation changes", () => {
  const newClient = workload("c1", 1, 7, { app: "client" });
  const before = new PolicyResolver(policies, identityCache(echo, web, db), opts);
  const after = new PolicyResolver(policies, identityCache(echo, web, db, newClient), opts);
  const changed = endpoints.filter((e) => JSON.stringify([...after.resolve(e.labels).ingress.allow]) !== JSON.stringify([...before.resolve(e.labels).ingress.allow]));
  assert.deepEqual(
    changed.map((e) => e.name),
    endpointsAffectedByIdentity(policies, endpoints, newClient.labels, opts).map((e) => e.name),
  );
});

test("a policy change affects the endpoints it selected before or selects after", () => {
  assert.deepEqual(endpointsAffectedByPolicy({ after: echoPolicy }, endpoints, opts).map((e) => e.name), ["echo"]);
  assert.deepEqual(endpointsAffectedByPolicy({ before: echoPolicy }, endpoints, opts).map((e) => e.name), ["echo"]);
  const moved = parsePolicyManifests(
    "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: echo}\nspec:\n  endpointSelector: {matchLabels: {app: db}}\n  ingress:\n  - {}\n",
  )[0];
  assert.deepEqual(endpointsAffectedByPolicy({ before: echoPolicy, after: moved }, endpoints, opts).map((e) => e.name), ["echo", "db"]);
});

test("a rule without any section changes nothing", () => {
  const inert = parsePolicyManifests("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: inert}\nspec:\n  endpointSelector: {}\n")[0];
  assert.deepEqual(endpointsAffectedByPolicy({ after: inert }, endpoints, opts), []);
});
