import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_CASES } from "./cases.js";
import { ENV } from "./testing/env.js";
import { planTest } from "./plan.js";

/** The cases without policies: the fake network below does not model policy. */
const NETWORK_CASES = DEFAULT_CASES.filter((c) => !c.policies?.length);
import { runTests, type Executor } from "./runner.js";

/** A fake network: answers like the lab's pods, except that `dropTo` addresses time out. */
function fakeNetwork(dropTo: ReadonlySet<string>): { exec: Executor; calls: { netns?: string; argv: readonly string[] }[]; maxInFlight: () => number } {
  const calls: { netns?: string; argv: readonly string[] }[] = [];
  let inFlight = 0;
  let max = 0;
  const exec: Executor = async (source, argv) => {
    calls.push({ netns: source.netns, argv });
    inFlight++;
    max = Math.max(max, inFlight);
    await new Promise((r) => setTimeout(r, 5));
    inFlight--;
    const target = argv.at(-1)!;
    const ip = /(\d+\.\d+\.\d+\.\d+)/.exec(target)![1]!;
    if (dropTo.has(ip)) return argv[0] === "ping" ? { code: 1, stdout: "", stderr: "" } : { code: 28, stdout: "", stderr: "curl: (28) Connection timed out after 3001 milliseconds" };
    const pod = [...ENV.local.echo.map((p) => ({ ...p, cluster: "cluster-1" })), ...ENV.remote!.echo.map((p) => ({ ...p, cluster: "cluster-2" }))].find((p) => p.ip === ip);
    const who = pod ?? (ip === "198.19.1.3" ? { name: "echo-x", cluster: "cluster-2" } : { name: "echo-1", cluster: "cluster-1" });
    return { code: 0, stdout: argv[0] === "curl" ? JSON.stringify({ pod: who.name, cluster: who.cluster }) : "", stderr: "" };
  };
  return { exec, calls, maxInFlight: () => max };
}

test("every default test passes on a healthy network, with modest concurrency", async () => {
  const net = fakeNetwork(new Set());
  const seen: string[] = [];
  const results = await runTests(NETWORK_CASES.map((c) => planTest(c, ENV)), net.exec, { concurrency: 2, onTest: (r) => seen.push(r.test.name) });
  assert.deepEqual(results.map((r) => r.status), NETWORK_CASES.map(() => "passed"));
  assert.deepEqual(seen, NETWORK_CASES.map((c) => c.name), "reported as each finishes, in order");
  assert.ok(net.maxInFlight() <= 2);
  assert.ok(net.calls.some((c) => c.netns === undefined), "admin probes run in the CLI's own namespace");
});

test("with the remote cluster unreachable, exactly the cross-cluster tests fail, with the command and its stderr", async () => {
  const net = fakeNetwork(new Set(["100.66.0.3", "100.66.1.3", "198.19.1.3"]));
  const results = await runTests(NETWORK_CASES.map((c) => planTest(c, ENV)), net.exec);
  const failed = results.filter((r) => r.status === "failed").map((r) => r.test.name);
  assert.deepEqual(failed, ["pod-to-pod-other-cluster", "pod-to-global-service-remote-backends"]);
  const bad = results.find((r) => r.test.name === "pod-to-pod-other-cluster")!.actions.find((a) => a.action.protocol === "http")!;
  assert.equal(bad.outcome, "drop");
  assert.match(bad.error!, /expected success, got drop \(timed out\): "curl -sS .* http:\/\/100\.66\.0\.3:80\/" exited with code 28; stderr: curl: \(28\) Connection timed out/);
});

test("a test expecting a drop passes when the probes time out and fails when they answer", async () => {
  const deny = { ...DEFAULT_CASES.find((c) => c.name === "pod-to-pod-other-cluster")!, name: "deny", expect: "drop" as const };
  const [dropped] = await runTests([planTest(deny, ENV)], fakeNetwork(new Set(["100.66.0.3", "100.66.1.3"])).exec);
  assert.equal(dropped!.status, "passed");
  const [answered] = await runTests([planTest(deny, ENV)], fakeNetwork(new Set()).exec);
  assert.equal(answered!.status, "failed");
});

test("an executor that throws is a failed action, not a crash", async () => {
  const [r] = await runTests([planTest(DEFAULT_CASES[0]!, ENV)], () => Promise.reject(new Error("ip: netns gone")));
  assert.equal(r!.status, "failed");
  assert.match(r!.actions[0]!.error!, /ip: netns gone/);
});

test("policy cases: one apply per run of cases sharing policies, removal at the end, and a failed apply fails the case", async () => {
  const withPolicies = DEFAULT_CASES.filter((c) => c.policies?.length);
  assert.ok(withPolicies.length >= 6, "allow and deny cases across clusters exist");
  const log: string[] = [];
  const hooks = {
    apply: async (ps: readonly { name: string }[]) => void log.push(`apply ${ps.map((p) => p.name).join(",")}`),
    remove: async (ps: readonly { name: string }[]) => void log.push(`remove ${ps.map((p) => p.name).join(",")}`),
  };
  await runTests(withPolicies.map((c) => planTest(c, ENV)), fakeNetwork(new Set()).exec, { policies: hooks });
  const sets = [...new Set(withPolicies.map((c) => c.policies!.map((p) => p.name).join(",")))];
  assert.equal(log.filter((l) => l.startsWith("apply")).length, sets.length, "consecutive cases share one apply");
  assert.equal(log.at(-1), `remove ${sets.at(-1)}`, "the last policies are removed when the run ends");
  for (let i = 1; i < log.length; i++) if (log[i]!.startsWith("apply")) assert.ok(log[i - 1]!.startsWith("remove"), "the previous set goes before the next comes");

  const [failed] = await runTests([planTest(withPolicies[0]!, ENV)], fakeNetwork(new Set()).exec, { policies: { apply: () => Promise.reject(new Error("etcd unreachable")), remove: async () => undefined } });
  assert.equal(failed!.status, "failed");
  assert.match(failed!.actions[0]!.error!, /could not put the test's policies in force: etcd unreachable/);
  const [noHooks] = await runTests([planTest(withPolicies[0]!, ENV)], fakeNetwork(new Set()).exec);
  assert.equal(noHooks!.status, "failed");
});
