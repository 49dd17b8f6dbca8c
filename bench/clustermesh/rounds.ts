/**
 * Rounds that alternate between the paths measured: a busy spell on a shared machine then hits
 * every path alike instead of whichever happened to run during it.
 */

/** `total` split into at least `minRounds` near-equal rounds of at most about `roundSize`. */
export function splitRounds(total: number, roundSize: number, minRounds = 2): number[] {
  if (!Number.isInteger(total) || total < 1) throw new Error(`total must be a positive integer, got ${total}`);
  if (!(roundSize > 0)) throw new Error(`round size must be positive, got ${roundSize}`);
  const rounds = Math.min(total, Math.max(minRounds, Math.ceil(total / roundSize)));
  return Array.from({ length: rounds }, (_, i) => Math.floor(total / rounds) + (i < total % rounds ? 1 : 0));
}

/** `items` in round `round`'s order: as given in even rounds, reversed in odd ones. */
export function orderFor<T>(items: readonly T[], round: number): readonly T[] {
  return round % 2 === 0 ? items : [...items].reverse();
}
