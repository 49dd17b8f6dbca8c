/**
 * Timestamps of changes on their way through the mesh: when each was made, and when each later
 * stage (etcd acknowledged the put, a handler got it, the kernel has it) first saw it. All times
 * are performance.now() of this one process, so stages compare without clock skew.
 */
import { percentile } from "../section.js";

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export function summarize(samples: readonly number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  return { count: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.length ? sorted[sorted.length - 1]! : NaN };
}

export class ChangeTimes<Stage extends string> {
  private readonly started = new Map<string, number>();
  private readonly marks = new Map<Stage, Map<string, number>>();

  constructor(readonly stages: readonly Stage[]) {
    if (stages.length === 0) throw new Error("ChangeTimes needs at least one stage");
    for (const s of stages) this.marks.set(s, new Map());
  }

  /** Change `id` is made now (or at `at`). Starting an id twice is a bug in the caller. */
  start(id: string, at = performance.now()): void {
    if (this.started.has(id)) throw new Error(`change ${JSON.stringify(id)} was started twice`);
    this.started.set(id, at);
  }

  /** `stage` saw change `id`; only the first sighting counts, and ids never started are ignored. */
  mark(id: string, stage: Stage, at = performance.now()): void {
    if (!this.started.has(id)) return;
    const m = this.stageMap(stage);
    if (!m.has(id)) m.set(id, at);
  }

  get size(): number {
    return this.started.size;
  }

  seen(stage: Stage): number {
    return this.stageMap(stage).size;
  }

  complete(stage: Stage): boolean {
    return this.seen(stage) === this.started.size;
  }

  /** Ids `stage` has not seen, in the order they were started. */
  missing(stage: Stage): string[] {
    const m = this.stageMap(stage);
    return [...this.started.keys()].filter((id) => !m.has(id));
  }

  /** Milliseconds from each change to `stage` seeing it, for the changes it saw. */
  latencies(stage: Stage): number[] {
    const out: number[] = [];
    for (const [id, at] of this.stageMap(stage)) out.push(at - this.started.get(id)!);
    return out;
  }

  summary(stage: Stage): LatencySummary {
    return summarize(this.latencies(stage));
  }

  /** Waits until `stage` has seen every change, or throws naming how many and which are missing. */
  async waitComplete(stage: Stage, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.complete(stage)) {
      if (Date.now() > deadline) {
        const missing = this.missing(stage);
        throw new Error(`${stage}: ${missing.length} of ${this.size} changes not seen within ${timeoutMs} ms (first: ${missing.slice(0, 3).join(", ")})`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  private stageMap(stage: Stage): Map<string, number> {
    const m = this.marks.get(stage);
    if (!m) throw new Error(`unknown stage ${JSON.stringify(stage)}; known: ${this.stages.join(", ")}`);
    return m;
  }
}

/**
 * Waits until performance.now() reaches `due`. Node's timers count whole milliseconds of a clock
 * read once per loop turn, so one may fire up to a millisecond early: check, and wait again.
 */
export async function sleepUntil(due: number): Promise<void> {
  for (let wait = due - performance.now(); wait > 0; wait = due - performance.now()) {
    await new Promise((r) => setTimeout(r, Math.ceil(wait)));
  }
}

export interface PacedRun {
  readonly count: number;
  readonly seconds: number;
  /** Changes per second actually issued. */
  readonly rate: number;
}

/**
 * Calls `issue(i)` for i = 0 … count-1, the i-th no earlier than i / ratePerSecond after the
 * start: a steady stream, not a burst. `issue` starts its work and returns at once; when the
 * pacer falls behind (timers fire late) it catches up rather than dropping changes.
 */
export async function paced(count: number, ratePerSecond: number, issue: (i: number) => void): Promise<PacedRun> {
  if (!Number.isInteger(count) || count < 0) throw new Error(`count must be a non-negative integer, got ${count}`);
  if (!(Number.isFinite(ratePerSecond) && ratePerSecond > 0)) throw new Error(`rate must be a positive number of changes per second, got ${ratePerSecond}`);
  const intervalMs = 1000 / ratePerSecond;
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    await sleepUntil(start + i * intervalMs);
    issue(i);
  }
  const seconds = (performance.now() - start) / 1000;
  return { count, seconds, rate: count > 1 ? (count - 1) / seconds : count };
}
