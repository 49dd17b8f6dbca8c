import { KIND_ORDER, sortObjects } from "./objects.js";
import type { DatapathObject, DatapathObjectKind, DatapathProblem, KindCounts, ObjectUpdate, ReconcileReport } from "./types.js";

export interface ReportParts {
  readonly added: readonly DatapathObject[];
  readonly updated: readonly ObjectUpdate[];
  readonly removed: readonly DatapathObject[];
  readonly kept: readonly DatapathObject[];
  /** Kept objects counted rather than listed (thousands of unchanged frontends nobody looked at). */
  readonly keptCounts?: Readonly<Partial<Record<DatapathObjectKind, number>>>;
  readonly problems: readonly DatapathProblem[];
  /** performance.now() when the reconcile began. */
  readonly startedAt: number;
}

export function buildReport(parts: ReportParts): ReconcileReport {
  const counts = Object.fromEntries(KIND_ORDER.map((k) => [k, { added: 0, updated: 0, removed: 0, kept: 0 }])) as Record<
    DatapathObjectKind,
    { -readonly [K in keyof KindCounts]: KindCounts[K] }
  >;
  for (const o of parts.added) counts[o.kind].added++;
  for (const u of parts.updated) counts[u.to.kind].updated++;
  for (const o of parts.removed) counts[o.kind].removed++;
  for (const o of parts.kept) counts[o.kind].kept++;
  let alsoKept = 0;
  for (const [kind, n] of Object.entries(parts.keptCounts ?? {}) as [DatapathObjectKind, number][]) {
    counts[kind].kept += n;
    alsoKept += n;
  }
  const byTarget = new Map(parts.updated.map((u) => [u.to, u]));
  return {
    added: sortObjects(parts.added),
    updated: sortObjects(parts.updated.map((u) => u.to)).map((to) => byTarget.get(to)!),
    removed: sortObjects(parts.removed),
    kept: parts.kept.length + alsoKept,
    counts,
    problems: parts.problems,
    durationMs: performance.now() - parts.startedAt,
  };
}

/** True when the reconcile changed anything in the kernel. */
export function reportChanged(report: ReconcileReport): boolean {
  return report.added.length + report.updated.length + report.removed.length > 0;
}

/** One line for logs: "added 3, updated 1, removed 0, kept 12 (route +2 ~1, fdb +1) in 14.2 ms". */
export function formatReport(report: ReconcileReport): string {
  const perKind = KIND_ORDER.flatMap((k) => {
    const c = report.counts[k];
    const parts = [c.added ? `+${c.added}` : "", c.updated ? `~${c.updated}` : "", c.removed ? `-${c.removed}` : ""].filter(Boolean);
    return parts.length ? [`${k} ${parts.join(" ")}`] : [];
  });
  const problems = report.problems.length ? `, ${report.problems.length} problem(s)` : "";
  return (
    `added ${report.added.length}, updated ${report.updated.length}, removed ${report.removed.length}, kept ${report.kept}` +
    `${perKind.length ? ` (${perKind.join(", ")})` : ""}${problems} in ${report.durationMs.toFixed(1)} ms`
  );
}
