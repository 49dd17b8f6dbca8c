import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { validateClusterInfo } from "../cluster/index.js";
import { decodeIdentity, decodeIdentityReference, encodeIdentity, encodeIdentityReference } from "./identity.js";
import { RecordError } from "./record-error.js";
import { CACHED_IDENTITY, IDENTITY } from "./testdata/golden.js";
import { accepted, refused } from "./testdata/assert-result.js";

const c1 = validateClusterInfo({ name: "c1", id: 1 });
const c2 = validateClusterInfo({ name: "c2", id: 2 });

describe("identity records", () => {
  test("golden values survive decode -> encode byte for byte", () => {
    assert.equal(encodeIdentity(accepted(decodeIdentity(IDENTITY.key, Buffer.from(IDENTITY.value), { cluster: c1 }))), IDENTITY.value);
    assert.equal(encodeIdentity(accepted(decodeIdentity(CACHED_IDENTITY.key, CACHED_IDENTITY.value, { cluster: c2 }))), CACHED_IDENTITY.value);
  });

  test("decoded labels, sorted by key", () => {
    const r = accepted(decodeIdentity(IDENTITY.key, IDENTITY.value));
    assert.equal(r.id, 65541);
    assert.deepEqual(
      r.labels.map((l) => l.key),
      ["app", "io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name", "io.cilium.k8s.policy.cluster", "io.cilium.k8s.policy.serviceaccount", "io.kubernetes.pod.namespace"],
    );
  });

  test("a remote identity must lie in the sender's range, first and last included", () => {
    const v = "k8s:app=a;k8s:io.cilium.k8s.policy.cluster=c1;";
    accepted(decodeIdentity("cilium/state/identities/v1/id/65536", v, { cluster: c1 }));
    accepted(decodeIdentity("cilium/state/identities/v1/id/131071", v, { cluster: c1 }));
    refused(decodeIdentity("cilium/state/identities/v1/id/131072", v, { cluster: c1 }), "identity-out-of-range", /65536\.\.131071/);
    refused(decodeIdentity("cilium/state/identities/v1/id/6", v, { cluster: c1 }), "identity-out-of-range");
  });

  test("without a sender, only allocatable global identities", () => {
    accepted(decodeIdentity("cilium/state/identities/v1/id/256", "k8s:a=1;"));
    refused(decodeIdentity("cilium/state/identities/v1/id/255", "k8s:a=1;"), "identity-out-of-range");
    refused(decodeIdentity(`cilium/state/identities/v1/id/${2 ** 24}`, "k8s:a=1;"), "identity-out-of-range");
  });

  test("a remote identity must carry the sender's cluster label", () => {
    refused(decodeIdentity(IDENTITY.key, "k8s:app=web;", { cluster: c1 }), "cluster-mismatch", /lack k8s:io\.cilium\.k8s\.policy\.cluster=c1/);
    refused(decodeIdentity(IDENTITY.key, "k8s:app=web;k8s:io.cilium.k8s.policy.cluster=c2;", { cluster: c1 }), "cluster-mismatch", /does not name cluster "c1"/);
    refused(decodeIdentity(IDENTITY.key, "container:io.cilium.k8s.policy.cluster=c1;", { cluster: c1 }), "cluster-mismatch");
    refused(decodeIdentity(CACHED_IDENTITY.key, CACHED_IDENTITY.value, { cluster: c1 }), "cluster-mismatch", /read from cluster "c1"/);
  });

  test("refusals: invalid-key, invalid-label, invalid-name, wrong-type", () => {
    refused(decodeIdentity("cilium/state/identities/v1/id/007", IDENTITY.value), "invalid-key");
    refused(decodeIdentity("cilium/state/identities/v1/id/x", IDENTITY.value), "invalid-key");
    refused(decodeIdentity("cilium/state/identities/v1/value/k8s:a=1;/198.18.1.11", IDENTITY.value), "invalid-key");
    refused(decodeIdentity(IDENTITY.key, "k8s:app=web"), "invalid-label", /must end with ';'/);
    refused(decodeIdentity(IDENTITY.key, ""), "invalid-label", /empty/);
    refused(decodeIdentity("cilium/cache/identities/v1/C_2/id/131080", CACHED_IDENTITY.value), "invalid-name");
    refused(decodeIdentity(IDENTITY.key, null as unknown as string), "wrong-type");
  });

  test("encodeIdentity refuses what decodeIdentity would refuse", () => {
    assert.throws(() => encodeIdentity({ id: 70000, labels: [{ source: "k8s", key: "a;", value: "" }] }), (e: unknown) => e instanceof RecordError && e.reason === "invalid-label");
    assert.throws(() => encodeIdentity({ id: 0, labels: [{ source: "k8s", key: "a", value: "" }] }), (e: unknown) => e instanceof RecordError && e.reason === "identity-out-of-range");
    assert.throws(() => encodeIdentity({ id: 12, labels: [{ source: "k8s", key: "a", value: "" }] }), (e: unknown) => e instanceof RecordError && e.reason === "identity-out-of-range");
  });
});

describe("identity references (value keys)", () => {
  test("labels and node come from the key, the id from the value", () => {
    const key = "cilium/state/identities/v1/value/k8s:app.kubernetes.io/name=web;k8s:io.cilium.k8s.policy.cluster=c1;/198.18.1.11";
    const r = accepted(decodeIdentityReference(key, encodeIdentityReference(65541)));
    assert.equal(r.id, 65541);
    assert.equal(r.node, "198.18.1.11");
    assert.equal(r.labelList, "k8s:app.kubernetes.io/name=web;k8s:io.cilium.k8s.policy.cluster=c1;");
    assert.equal(r.labels[0]!.key, "app.kubernetes.io/name");
  });

  test("refusals", () => {
    const key = "cilium/state/identities/v1/value/k8s:a=1;/198.18.1.11";
    refused(decodeIdentityReference(key, "x"), "wrong-type");
    refused(decodeIdentityReference(key, "12"), "identity-out-of-range");
    refused(decodeIdentityReference("cilium/state/identities/v1/value/k8s:a=1;/node-1", "65541"), "invalid-key");
    refused(decodeIdentityReference("cilium/state/identities/v1/value/k8s:a=1/198.18.1.11", "65541"), "invalid-label");
    assert.throws(() => encodeIdentityReference(0), RangeError);
  });
});
