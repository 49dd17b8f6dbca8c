import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { effectiveAffinity, selectBackends, type AffinityCandidate } from "./affinity.js";

const L = (name: string, terminating = false) => ({ name, local: true, terminating });
const R = (name: string, terminating = false) => ({ name, local: false, terminating });

/** "name:active/preferred" per backend, e.g. "l1:A/P", "r1:-/-". */
function show(affinity: "local" | "remote" | "none", backends: (AffinityCandidate & { name: string })[]): string[] {
  return selectBackends(affinity, backends).map((b) => `${b.name}:${b.active ? "A" : "-"}/${b.preferred ? "P" : "-"}`);
}

describe("affinity", () => {
  test("local: local backends active and preferred, remote ones listed but inactive", () => {
    assert.deepEqual(show("local", [L("l1"), L("l2"), R("r1"), R("r2")]), ["l1:A/P", "l2:A/P", "r1:-/-", "r2:-/-"]);
  });

  test("local: with no local backend left the remote ones take over (the seed's scale to 0)", () => {
    assert.deepEqual(show("local", [R("r1"), R("r2")]), ["r1:A/-", "r2:A/-"]);
  });

  test("local: local backends that are all terminating count as gone; they stay listed, inactive", () => {
    assert.deepEqual(show("local", [L("l1", true), L("l2", true), R("r1"), R("r2")]), ["l1:-/P", "l2:-/P", "r1:A/-", "r2:A/-"]);
  });

  test("local: one active local backend is enough to keep the remote ones out", () => {
    assert.deepEqual(show("local", [L("l1", true), L("l2"), R("r1")]), ["l1:-/P", "l2:A/P", "r1:-/-"]);
  });

  test("remote is the mirror image", () => {
    assert.deepEqual(show("remote", [L("l1"), L("l2"), R("r1"), R("r2")]), ["l1:-/-", "l2:-/-", "r1:A/P", "r2:A/P"]);
    assert.deepEqual(show("remote", [L("l1"), L("l2")]), ["l1:A/-", "l2:A/-"]);
    assert.deepEqual(show("remote", [L("l1"), R("r1", true)]), ["l1:A/-", "r1:-/P"]);
  });

  test("none: every backend active, none preferred, terminating ones still inactive", () => {
    assert.deepEqual(show("none", [L("l1"), L("l2", true), R("r1"), R("r2")]), ["l1:A/-", "l2:-/-", "r1:A/-", "r2:A/-"]);
  });

  test("nothing but terminating backends: none takes new connections", () => {
    assert.deepEqual(show("local", [L("l1", true), R("r1", true)]), ["l1:-/P", "r1:-/-"]);
    assert.deepEqual(show("none", [L("l1", true)]), ["l1:-/-"]);
  });

  test("the input keeps its fields and order", () => {
    const out = selectBackends("local", [{ ...R("r1"), ip: "100.66.1.11" }, { ...L("l1"), ip: "100.65.1.11" }]);
    assert.deepEqual(out.map((b) => b.ip), ["100.66.1.11", "100.65.1.11"]);
  });

  test("affinity only applies to a global service", () => {
    assert.equal(effectiveAffinity(true, "local"), "local");
    assert.equal(effectiveAffinity(true, "remote"), "remote");
    assert.equal(effectiveAffinity(false, "local"), "none");
    assert.equal(effectiveAffinity(false, "remote"), "none");
  });
});
