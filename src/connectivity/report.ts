import type { ActionResult, TestResult } from "./runner.js";

/**
 * The connectivity test's output in the layout of `cilium connectivity test`: a header, one block
 * per test (`[=] Test [name]`, then a line per action), and a summary that ends in either
 * "✅ All N tests (M actions) successful, K tests skipped" or a test report listing the failures.
 */

export interface Summary {
  readonly tests: number;
  readonly actions: number;
  readonly skipped: number;
  readonly failedTests: readonly string[];
  readonly failedActions: number;
}

export function summarize(results: readonly TestResult[]): Summary {
  const ran = results.filter((r) => r.status !== "skipped");
  return {
    tests: ran.length,
    actions: ran.reduce((n, r) => n + r.actions.length, 0),
    skipped: results.length - ran.length,
    failedTests: ran.filter((r) => r.status === "failed").map((r) => r.test.name),
    failedActions: ran.reduce((n, r) => n + r.actions.filter((a) => !a.ok).length, 0),
  };
}

/** Non-zero when any test failed, or when nothing ran at all (a filter that matched nothing). */
export function exitCode(s: Summary): number {
  return s.failedTests.length > 0 || s.tests === 0 ? 1 : 0;
}

export function formatHeader(o: { clusters: readonly string[]; namespace: string; tests: number }): string {
  const where = o.clusters.length > 1 ? `Multi-cluster connectivity test: ${o.clusters[0]} → ${o.clusters.slice(1).join(", ")}` : `Connectivity test in ${o.clusters[0]}`;
  return `ℹ️  ${where}, namespace ${o.namespace}, ${o.tests} test(s) selected\n`;
}

function actionLine(a: ActionResult): string {
  const src = `${a.action.source.name}${a.action.source.ip ? ` (${a.action.source.ip})` : ""}`;
  const dst = `${a.action.destination.name} (${a.action.destination.ip}${a.action.destination.port ? `:${a.action.destination.port}` : ""})`;
  return `${a.action.id}: ${src} -> ${dst}`;
}

export function formatTestResult(r: TestResult): string {
  let out = `[=] Test [${r.test.name}]\n`;
  if (r.status === "skipped") return `${out}  ⏭️  skipped: ${r.reason}\n`;
  for (const a of r.actions) {
    out += a.ok ? `  ✅ ${actionLine(a)} [${a.action.protocol}, ${a.outcome} as expected]\n` : `  ❌ ${actionLine(a)} [${a.action.protocol}]\n     ${a.error}\n`;
  }
  return out;
}

export function formatSummary(results: readonly TestResult[]): string {
  const s = summarize(results);
  if (s.tests === 0) return `❌ No test ran (${s.skipped} skipped): check --test and --multi-cluster\n`;
  if (s.failedTests.length === 0) return `✅ All ${s.tests} tests (${s.actions} actions) successful, ${s.skipped} tests skipped\n`;
  let out = `\n📋 Test Report\n❌ ${s.failedTests.length}/${s.tests} tests failed (${s.failedActions}/${s.actions} actions), ${s.skipped} tests skipped:\n`;
  for (const r of results) {
    if (r.status !== "failed") continue;
    out += `Test [${r.test.name}]:\n`;
    for (const a of r.actions) if (!a.ok) out += `  ❌ ${actionLine(a)}: ${a.error}\n`;
  }
  return out;
}

/** `-o json`: every test with its actions, then the summary. */
export function resultsJson(o: { clusters: readonly string[]; namespace: string }, results: readonly TestResult[]): unknown {
  const s = summarize(results);
  return {
    clusters: o.clusters,
    namespace: o.namespace,
    tests: results.map((r) => ({
      name: r.test.name,
      status: r.status,
      ...(r.status === "skipped" ? { reason: r.reason } : {}),
      actions: r.actions.map((a) => ({
        id: a.action.id,
        protocol: a.action.protocol,
        source: a.action.source.name,
        ...(a.action.source.ip ? { sourceIP: a.action.source.ip } : {}),
        destination: a.action.destination.name,
        destinationAddress: `${a.action.destination.ip}${a.action.destination.port ? `:${a.action.destination.port}` : ""}`,
        expected: a.action.expect,
        outcome: a.outcome,
        ok: a.ok,
        ...(a.error ? { error: a.error, command: a.command.join(" "), exitCode: a.exitCode } : {}),
        durationMs: a.durationMs,
      })),
    })),
    summary: { tests: s.tests, actions: s.actions, skipped: s.skipped, failedTests: s.failedTests, failedActions: s.failedActions, success: exitCode(s) === 0 },
  };
}
