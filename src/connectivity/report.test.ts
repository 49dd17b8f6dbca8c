import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_CASES } from "./cases.js";
import type { Action } from "./plan.js";
import { exitCode, formatHeader, formatSummary, formatTestResult, resultsJson, summarize } from "./report.js";
import type { ActionResult, TestResult } from "./runner.js";

const action = (test: string, n: number): Action => ({
  id: `${test}/http-${n}`,
  test,
  source: { kind: "pod", name: "trellis-test/client-a", ip: "100.65.0.4" },
  destination: { name: "trellis-test/echo-x (cluster-2/node-1)", ip: "100.66.0.3", port: 80 },
  protocol: "http",
  expect: "success",
});
const ok = (test: string, n: number): ActionResult => ({ action: action(test, n), outcome: "success", ok: true, command: ["curl"], exitCode: 0, durationMs: 3 });
const bad = (test: string, n: number): ActionResult => ({ action: action(test, n), outcome: "drop", ok: false, command: ["curl", "http://100.66.0.3:80/"], exitCode: 28, error: 'expected success, got drop: "curl http://100.66.0.3:80/" exited with code 28', durationMs: 3000 });
const c = (name: string) => ({ ...DEFAULT_CASES[0]!, name });

const passing: TestResult[] = [
  { test: c("a"), status: "passed", actions: [ok("a", 0), ok("a", 1)] },
  { test: c("b"), status: "passed", actions: [ok("b", 0)] },
  { test: c("s"), status: "skipped", reason: "needs a second cluster (--multi-cluster)", actions: [] },
];
const failing: TestResult[] = [...passing.slice(0, 1), { test: c("x"), status: "failed", actions: [ok("x", 0), bad("x", 1)] }, passing[2]!];

test("all passing: Cilium's success line, exit code 0", () => {
  assert.equal(formatSummary(passing), "✅ All 2 tests (3 actions) successful, 1 tests skipped\n");
  assert.equal(exitCode(summarize(passing)), 0);
});

test("a failure: the test report counts and lists each failed action with its reason, exit code 1", () => {
  const out = formatSummary(failing);
  assert.match(out, /📋 Test Report\n❌ 1\/2 tests failed \(1\/4 actions\), 1 tests skipped:\nTest \[x\]:\n {2}❌ x\/http-1: trellis-test\/client-a \(100\.65\.0\.4\) -> trellis-test\/echo-x \(cluster-2\/node-1\) \(100\.66\.0\.3:80\): expected success, got drop/);
  assert.doesNotMatch(out, /x\/http-0/);
  assert.equal(exitCode(summarize(failing)), 1);
});

test("nothing ran: exit code 1 and a hint", () => {
  const onlySkipped = [passing[2]!];
  assert.equal(exitCode(summarize(onlySkipped)), 1);
  assert.match(formatSummary(onlySkipped), /No test ran/);
});

test("one block per test: [=] Test [name], then a line per action", () => {
  assert.equal(
    formatTestResult(failing[1]!),
    "[=] Test [x]\n" +
      "  ✅ x/http-0: trellis-test/client-a (100.65.0.4) -> trellis-test/echo-x (cluster-2/node-1) (100.66.0.3:80) [http, success as expected]\n" +
      "  ❌ x/http-1: trellis-test/client-a (100.65.0.4) -> trellis-test/echo-x (cluster-2/node-1) (100.66.0.3:80) [http]\n" +
      '     expected success, got drop: "curl http://100.66.0.3:80/" exited with code 28\n',
  );
  assert.equal(formatTestResult(passing[2]!), "[=] Test [s]\n  ⏭️  skipped: needs a second cluster (--multi-cluster)\n");
});

test("the header names the clusters and the namespace", () => {
  assert.equal(formatHeader({ clusters: ["cluster-1", "cluster-2"], namespace: "trellis-test", tests: 8 }), "ℹ️  Multi-cluster connectivity test: cluster-1 → cluster-2, namespace trellis-test, 8 test(s) selected\n");
  assert.match(formatHeader({ clusters: ["cluster-1"], namespace: "trellis-test", tests: 6 }), /^ℹ️ {2}Connectivity test in cluster-1,/);
});

test("-o json: each test with its actions' source, destination, outcome and error; the summary", () => {
  const j = resultsJson({ clusters: ["cluster-1", "cluster-2"], namespace: "trellis-test" }, failing) as {
    tests: { name: string; status: string; reason?: string; actions: Record<string, unknown>[] }[];
    summary: Record<string, unknown>;
  };
  assert.deepEqual(j.tests.map((t) => [t.name, t.status]), [["a", "passed"], ["x", "failed"], ["s", "skipped"]]);
  const failed = j.tests[1]!.actions[1]!;
  assert.equal(failed.source, "trellis-test/client-a");
  assert.equal(failed.destinationAddress, "100.66.0.3:80");
  assert.equal(failed.outcome, "drop");
  assert.equal(failed.exitCode, 28);
  assert.match(String(failed.error), /expected success, got drop/);
  assert.equal(j.tests[1]!.actions[0]!.error, undefined);
  assert.equal(j.tests[2]!.reason, "needs a second cluster (--multi-cluster)");
  assert.deepEqual(j.summary, { tests: 2, actions: 4, skipped: 1, failedTests: ["x"], failedActions: 1, success: false });
});
