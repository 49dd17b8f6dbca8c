import type { Action } from "./plan.js";

/**
 * One probe: the command an action runs (ping or curl, from its source's network namespace) and
 * how its exit status reads. A drop is a timeout: no answer at all. A refusal or an answer from the
 * wrong backend is neither success nor drop, so it fails either expectation.
 */

export type Outcome = "success" | "drop" | "refused" | "wrong-backend" | "error";

export interface ProbeResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Seconds before a probe counts as dropped; short, since the lab's paths answer in milliseconds. */
export const PROBE_TIMEOUT_S = 3;

export function probeCommand(a: Action): string[] {
  if (a.protocol === "icmp") return ["ping", "-n", "-c", "1", "-W", String(PROBE_TIMEOUT_S), a.destination.ip];
  return ["curl", "-sS", "--connect-timeout", String(PROBE_TIMEOUT_S), "-m", String(PROBE_TIMEOUT_S + 2), `http://${a.destination.ip}:${a.destination.port}/`];
}

/** ping: 0 answered, 1 no answer. curl: 28 timed out, 7 refused or unreachable. */
export function classify(a: Action, r: ProbeResult): { outcome: Outcome; detail?: string } {
  if (a.protocol === "icmp") {
    if (r.code === 0) return { outcome: "success" };
    if (r.code === 1) return { outcome: "drop", detail: "no ICMP echo reply" };
    return { outcome: "error" };
  }
  if (r.code === 28) return { outcome: "drop", detail: "timed out" };
  if (r.code === 7) return { outcome: "refused", detail: "connection refused or destination unreachable" };
  if (r.code !== 0) return { outcome: "error" };
  return checkAnswer(a, r.stdout);
}

function checkAnswer(a: Action, body: string): { outcome: Outcome; detail?: string } {
  const want = a.answeredBy;
  if (!want) return { outcome: "success" };
  let who: { pod?: string; cluster?: string };
  try {
    who = JSON.parse(body) as { pod?: string; cluster?: string };
  } catch {
    return { outcome: "wrong-backend", detail: `the answer is not the echo server's JSON: ${excerpt(body)}` };
  }
  if (want.pod && who.pod !== want.pod) return { outcome: "wrong-backend", detail: `answered by pod ${who.pod ?? "?"}, expected ${want.pod}` };
  if (want.cluster && who.cluster !== want.cluster) return { outcome: "wrong-backend", detail: `answered by ${who.cluster ?? "?"}/${who.pod ?? "?"}, expected a pod of ${want.cluster}` };
  return { outcome: "success" };
}

/** The first lines of a command's output, for a failure report. */
export function excerpt(text: string, maxChars = 200): string {
  const t = text.trim().replace(/\s*\n\s*/g, " | ");
  return t.length > maxChars ? `${t.slice(0, maxChars)}…` : t;
}
