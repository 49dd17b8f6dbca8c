import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { namespaceProblem, nodeNameProblem, serviceNameProblem } from "./names.js";

describe("Kubernetes names inside keys", () => {
  test("node names are DNS subdomains", () => {
    for (const ok of ["node-1", "n", "c1-node-1.lab", "1node"]) assert.equal(nodeNameProblem(ok), undefined, ok);
    for (const bad of ["Node-1", "node_1", "a/b", "-n", "n.", "", "a".repeat(254)]) assert.notEqual(nodeNameProblem(bad), undefined, bad);
  });

  test("namespaces are DNS labels", () => {
    for (const ok of ["default", "kube-system", "1a"]) assert.equal(namespaceProblem(ok), undefined, ok);
    for (const bad of ["Default", "a.b", "a_b", "", "a".repeat(64)]) assert.notEqual(namespaceProblem(bad), undefined, bad);
  });

  test("service names are DNS-1035 labels (start with a letter)", () => {
    for (const ok of ["web", "kube-dns", "a1"]) assert.equal(serviceNameProblem(ok), undefined, ok);
    for (const bad of ["1web", "web-", "Web", "", "a".repeat(64)]) assert.notEqual(serviceNameProblem(bad), undefined, bad);
  });
});
