import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryStore } from "../kvstore/memory-store.js";
import { keys } from "../resources/keys.js";
import { parseSets } from "./helm-set.js";
import { installValues } from "./install.js";
import { storedTlsAuto, tlsAutoFromValues } from "./tls-auto.js";
import { testClusterSettings } from "../resources/testing/cluster-settings.js";

test("seed 002's tls.auto.method and Cilium's certValidityDuration are read; fractions of a day are accepted", () => {
  assert.deepEqual(tlsAutoFromValues(parseSets(["clustermesh.apiserver.tls.auto.method=cronJob"])), { method: "cronJob" });
  assert.deepEqual(tlsAutoFromValues(parseSets(["clustermesh.apiserver.tls.auto.method=helm,clustermesh.apiserver.tls.auto.certValidityDuration=30"])), { method: "helm", certValidityDays: 30 });
  assert.deepEqual(tlsAutoFromValues(parseSets(["clustermesh.apiserver.tls.auto.certValidityDuration=0.0005"])), { certValidityDays: 0.0005 });
  assert.equal(tlsAutoFromValues(parseSets(["cluster.name=c1"])), undefined, "no tls.auto at all");
  // tls.auto.enabled=false: certificates are the user's, so none is renewed.
  assert.deepEqual(tlsAutoFromValues(parseSets(["clustermesh.apiserver.tls.auto.method=certmanager,clustermesh.apiserver.tls.auto.enabled=false"])), {});
});

test("a method or validity Cilium does not know is refused with the value and the choices", () => {
  assert.throws(() => tlsAutoFromValues(parseSets(["clustermesh.apiserver.tls.auto.method=cronjob"])), /method must be one of helm, cronJob, certmanager \(got "cronjob"\)/);
  assert.throws(() => tlsAutoFromValues(parseSets(["clustermesh.apiserver.tls.auto.certValidityDuration=0"])), /positive number of days, such as 1095 \(got 0\)/);
  assert.throws(() => tlsAutoFromValues(parseSets(["clustermesh.apiserver.tls.auto.certValidityDuration=3y"])), /got "3y"/);
});

test("install stores tls.auto with the other values, and refuses a bad one before storing anything", async () => {
  const store = new MemoryStore();
  await store.put(keys.clusterSettings(), JSON.stringify(testClusterSettings()));
  await installValues(store, parseSets(["clustermesh.apiserver.tls.auto.method=cronJob"]));
  // An upgrade naming only the validity keeps the method.
  const r = await installValues(store, parseSets(["clustermesh.apiserver.tls.auto.certValidityDuration=90"]));
  assert.deepEqual(r.unknown, []);
  assert.deepEqual(await storedTlsAuto(store), { method: "cronJob", certValidityDays: 90 });
  await assert.rejects(installValues(store, parseSets(["clustermesh.apiserver.tls.auto.method=manual"])), /method must be one of/);
  assert.deepEqual(await storedTlsAuto(store), { method: "cronJob", certValidityDays: 90 });
});
