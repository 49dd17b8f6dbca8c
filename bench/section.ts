/**
 * One benchmark's contribution to docs/benchmarks.md. Each bench module exports
 * `run(options): Promise<BenchSection>`; bench/run.ts runs them in turn and writes the page.
 */
export interface BenchSection {
  /** Heading of the section. */
  readonly title: string;
  /** Markdown body: what was measured, how, a table of figures, and the verdict against the target. */
  readonly markdown: string;
}

export interface BenchOptions {
  /** Scale factor for quick runs (1 = the full sizes the issues ask for). */
  readonly scale: number;
}

export type BenchModule = { run(options: BenchOptions): Promise<BenchSection> };

/** Percentile of already-sorted numbers (nearest-rank). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function fmt(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "n/a";
}
