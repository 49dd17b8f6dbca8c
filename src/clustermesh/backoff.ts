export interface BackoffOptions {
  /** First wait after a failure (default 1,000 ms); doubles per consecutive failure. */
  readonly initialMs?: number;
  /** Longest wait (default 30,000 ms). */
  readonly maxMs?: number;
  /**
   * Each wait varies at random by up to this fraction either way (default 0.2), so that the agents
   * of a cluster do not all reconnect to a peer in the same instant after it comes back.
   */
  readonly jitter?: number;
}

export type Backoff = Required<BackoffOptions>;

/** Checks and completes backoff options; throws a RangeError naming the field and the value given. */
export function resolveBackoff(options: BackoffOptions = {}): Backoff {
  const b = { initialMs: options.initialMs ?? 1_000, maxMs: options.maxMs ?? 30_000, jitter: options.jitter ?? 0.2 };
  if (!(Number.isFinite(b.initialMs) && b.initialMs > 0)) throw new RangeError(`backoff.initialMs must be a positive number of milliseconds (got ${String(options.initialMs)})`);
  if (!(Number.isFinite(b.maxMs) && b.maxMs >= b.initialMs)) {
    throw new RangeError(`backoff.maxMs must be a number of milliseconds no smaller than initialMs ${b.initialMs} (got ${String(options.maxMs)})`);
  }
  if (!(Number.isFinite(b.jitter) && b.jitter >= 0 && b.jitter < 1)) throw new RangeError(`backoff.jitter must be a fraction from 0 to below 1 (got ${String(options.jitter)})`);
  return b;
}

/** The wait after `failures` consecutive failures (0 for the first). */
export function backoffDelay(backoff: Backoff, failures: number, random: () => number = Math.random): number {
  const base = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(failures, 40));
  return Math.round(base * (1 - backoff.jitter + 2 * backoff.jitter * random()));
}
