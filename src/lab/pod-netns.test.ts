import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import { netnsPath, podNetnsName, PodNetnsNameError } from "./pod-netns.js";

describe("pod netns names", () => {
  test("trl-c<cluster>-pod-<8 hex of sha256(ns/name)>", () => {
    const hash = createHash("sha256").update("shop/web-1").digest("hex").slice(0, 8);
    assert.equal(podNetnsName(3, "shop", "web-1"), `trl-c3-pod-${hash}`);
    assert.equal(netnsPath(podNetnsName(3, "shop", "web-1")), `/run/netns/trl-c3-pod-${hash}`);
  });

  test("differs per cluster, namespace and name, and honours a test prefix", () => {
    const names = new Set([podNetnsName(1, "a", "b"), podNetnsName(2, "a", "b"), podNetnsName(1, "b", "a"), podNetnsName(1, "a", "c")]);
    assert.equal(names.size, 4);
    assert.match(podNetnsName(1, "a", "b", "trtest-pr-42-"), /^trtest-pr-42-c1-pod-[0-9a-f]{8}$/);
  });

  test("bad input is refused with the value given", () => {
    assert.throws(() => podNetnsName(0, "a", "b"), (e: Error) => e instanceof PodNetnsNameError && /got 0/.test(e.message));
    assert.throws(() => podNetnsName(1, "", "b"), /"\/b"/);
    assert.throws(() => podNetnsName(1, "a", "b/c"), /"a\/b\/c"/);
    assert.throws(() => podNetnsName(1, "a", "b", "bad/prefix"), /"bad\/prefix"/);
  });
});
