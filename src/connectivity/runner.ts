import type { CasePolicy, ConnectivityCase } from "./cases.js";
import type { Action, ActionSource, PlannedTest } from "./plan.js";
import { mapLimited } from "../util/map-limited.js";
import { classify, excerpt, probeCommand, PROBE_TIMEOUT_S, type Outcome, type ProbeResult } from "./probe.js";

/** Runs a command from an action's source (its network namespace, or the CLI's own). */
export type Executor = (source: ActionSource, argv: readonly string[], timeoutMs: number) => Promise<ProbeResult>;

export interface ActionResult {
  readonly action: Action;
  readonly outcome: Outcome;
  readonly ok: boolean;
  readonly command: readonly string[];
  readonly exitCode: number;
  /** Why it failed, in words, with the command's stderr excerpt; absent when ok. */
  readonly error?: string;
  readonly durationMs: number;
}

export type TestResult =
  | { readonly test: ConnectivityCase; readonly status: "passed" | "failed"; readonly actions: readonly ActionResult[] }
  | { readonly test: ConnectivityCase; readonly status: "skipped"; readonly reason: string; readonly actions: readonly [] };

/**
 * Puts a case's policies in force and takes them away again; both resolve once every agent of the
 * cluster concerned has the change in its kernel, so probes never race a policy.
 */
export interface PolicyHooks {
  apply(policies: readonly CasePolicy[]): Promise<void>;
  remove(policies: readonly CasePolicy[]): Promise<void>;
}

export interface RunOptions {
  /** Probes in flight at once; small, the lab shares few CPUs with its daemons. */
  readonly concurrency?: number;
  /** Needed by cases with policies; without it such cases fail, saying so. */
  readonly policies?: PolicyHooks;
  /** Called as each test finishes, in order, so output streams. */
  readonly onTest?: (r: TestResult) => void;
}

export async function runAction(a: Action, exec: Executor): Promise<ActionResult> {
  const command = probeCommand(a);
  const started = Date.now();
  let r: ProbeResult;
  try {
    r = await exec(a.source, command, (PROBE_TIMEOUT_S + 5) * 1000);
  } catch (e) {
    r = { code: 127, stdout: "", stderr: (e as Error).message };
  }
  const { outcome, detail } = classify(a, r);
  const ok = outcome === a.expect;
  const durationMs = Date.now() - started;
  if (ok) return { action: a, outcome, ok, command, exitCode: r.code, durationMs };
  const stderr = excerpt(r.stderr);
  const error = `expected ${a.expect}, got ${outcome}${detail ? ` (${detail})` : ""}: "${command.join(" ")}" exited with code ${r.code}${stderr ? `; stderr: ${stderr}` : ""}`;
  return { action: a, outcome, ok, command, exitCode: r.code, error, durationMs };
}

const policyKey = (policies: readonly CasePolicy[] | undefined) => (policies ?? []).map((p) => `${p.cluster}/${p.name}`).join(",");

export async function runTests(planned: readonly PlannedTest[], exec: Executor, options: RunOptions = {}): Promise<TestResult[]> {
  const limit = Math.max(1, options.concurrency ?? 3);
  const results: TestResult[] = [];
  // Consecutive cases with the same policies share one apply; a change removes the old set first.
  let inForce: readonly CasePolicy[] = [];
  const switchTo = async (wanted: readonly CasePolicy[]) => {
    if (policyKey(wanted) === policyKey(inForce)) return;
    if (!options.policies) throw new Error("this test needs network policies, and the runner was given no way to apply them");
    const old = inForce;
    inForce = [];
    if (old.length) await options.policies.remove(old);
    if (wanted.length) await options.policies.apply(wanted);
    inForce = wanted;
  };
  try {
    for (const p of planned) {
      let r: TestResult;
      if ("skipped" in p) r = { test: p.test, status: "skipped", reason: p.skipped, actions: [] };
      else {
        let setupError: string | undefined;
        await switchTo(p.test.policies ?? []).catch((e: Error) => (setupError = e.message));
        const actions = setupError
          ? p.actions.map((a): ActionResult => ({ action: a, outcome: "error", ok: false, command: [], exitCode: 0, error: `could not put the test's policies in force: ${setupError}`, durationMs: 0 }))
          : await mapLimited(p.actions, limit, (a) => runAction(a, exec));
        r = { test: p.test, status: actions.every((a) => a.ok) ? "passed" : "failed", actions };
      }
      results.push(r);
      options.onTest?.(r);
    }
  } finally {
    if (inForce.length && options.policies) await options.policies.remove(inForce);
  }
  return results;
}
