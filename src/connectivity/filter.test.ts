import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_CASES } from "./cases.js";
import { parseTestFilter, selects, TestFilterError } from "./filter.js";

const names = DEFAULT_CASES.map((c) => c.name);
const pick = (...patterns: string[]) => names.filter((n) => selects(parseTestFilter(patterns), n));

test("no pattern selects every test", () => {
  assert.deepEqual(pick(), names);
});

test("a substring selects the tests whose name contains it", () => {
  assert.deepEqual(pick("pod-to-pod"), ["pod-to-pod-same-node", "pod-to-pod-other-node", "pod-to-pod-other-cluster"]);
});

test("a regular expression is matched against the name", () => {
  assert.deepEqual(pick("^admin-"), ["admin-to-loadbalancer", "admin-to-nodeport"]);
});

test("!pattern excludes, alone or after includes", () => {
  assert.deepEqual(pick("!other-cluster|global"), names.filter((n) => !/other-cluster|global/.test(n)));
  assert.deepEqual(pick("pod-to-pod", "!same-node"), ["pod-to-pod-other-node", "pod-to-pod-other-cluster"]);
});

test("patterns may be comma-separated or repeated", () => {
  assert.deepEqual(pick("node-to-pod,pod-to-service"), ["pod-to-service", "node-to-pod"]);
  assert.deepEqual(pick("node-to-pod", "pod-to-service"), ["pod-to-service", "node-to-pod"]);
});

test("an invalid expression or a bare ! is refused with the pattern named", () => {
  assert.throws(() => parseTestFilter(["pod-(to"]), (e: Error) => e instanceof TestFilterError && /--test "pod-\(to" is not a valid regular expression/.test(e.message));
  assert.throws(() => parseTestFilter(["!"]), /"!" needs a pattern after it/);
});
