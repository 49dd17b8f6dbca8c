import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { formatLabelList, labelToString, parseLabel, parseLabelList, type Label } from "./labels.js";

describe("label strings", () => {
  test("format sorts by key and ends every label with ';'", () => {
    const labels: Label[] = [
      { source: "k8s", key: "io.kubernetes.pod.namespace", value: "default" },
      { source: "k8s", key: "app", value: "x" },
      { source: "k8s", key: "io.cilium.k8s.policy.cluster", value: "c1" },
    ];
    assert.equal(formatLabelList(labels), "k8s:app=x;k8s:io.cilium.k8s.policy.cluster=c1;k8s:io.kubernetes.pod.namespace=default;");
  });

  test("reserved labels have an empty value but keep the '='", () => {
    assert.equal(formatLabelList([{ source: "reserved", key: "host", value: "" }]), "reserved:host=;");
    assert.deepEqual(parseLabelList("reserved:host=;"), [{ source: "reserved", key: "host", value: "" }]);
  });

  test("parse splits at the first ':' and the first '=' after it", () => {
    assert.deepEqual(parseLabelList("k8s:a.b/c=d=e;container:x:y=1;"), [
      { source: "k8s", key: "a.b/c", value: "d=e" },
      { source: "container", key: "x:y", value: "1" },
    ]);
  });

  test("an unsorted list parses sorted", () => {
    const parsed = parseLabelList("k8s:z=1;k8s:a=2;");
    assert.ok(Array.isArray(parsed));
    assert.equal(formatLabelList(parsed), "k8s:a=2;k8s:z=1;");
  });

  test("malformed lists are explained", () => {
    const problem = (s: string) => (parseLabelList(s) as { problem: string }).problem;
    assert.match(problem(""), /empty/);
    assert.match(problem("k8s:a=1"), /must end with ';'/);
    assert.match(problem("k8s:a=1;;"), /is not source:key=value/);
    assert.match(problem("a=1;"), /is not source:key=value/);
    assert.match(problem("k8s:a;"), /is not source:key=value/);
    assert.match(problem(":a=1;"), /is not source:key=value/);
    assert.match(problem("k8s:=1;"), /key must not be empty/);
    assert.match(problem("k8s:a=1;container:a=2;"), /share the key "a"/);
  });

  test("format refuses labels that would corrupt the string", () => {
    assert.throws(() => formatLabelList([{ source: "k8s", key: "a;b", value: "" }]), /must not contain ';' or '='/);
    assert.throws(() => formatLabelList([{ source: "k8s", key: "a", value: "x;y" }]), /must not contain ';'/);
    assert.throws(() => formatLabelList([{ source: "", key: "a", value: "" }]), /source/);
    assert.throws(() => formatLabelList([{ source: "k8s", key: "a", value: "1" }, { source: "any", key: "a", value: "2" }]), /share the key "a"/);
  });

  test("printable form", () => {
    assert.equal(labelToString({ source: "reserved", key: "host", value: "" }), "reserved:host");
    assert.equal(labelToString({ source: "k8s", key: "app", value: "web" }), "k8s:app=web");
    assert.deepEqual(parseLabel("reserved:host"), { source: "reserved", key: "host", value: "" });
    assert.deepEqual(parseLabel("app=web"), { source: "unspec", key: "app", value: "web" });
  });
});
