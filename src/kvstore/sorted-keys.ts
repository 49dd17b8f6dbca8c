import { compareKeys, isBelowSurrogates } from "./values.js";

/**
 * A sorted set of keys in chunks of a few hundred: insert and delete cost a binary search and a
 * short splice instead of moving the whole array, so 100,000 keys written in random order stay
 * cheap, and a prefix scan starts with a binary search.
 */
const MAX_CHUNK = 512;

export class SortedKeys {
  private chunks: string[][] = [];
  /** Last key of each chunk, for the binary search over chunks. */
  private maxes: string[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds the key; returns false when it was already there. */
  add(key: string): boolean {
    if (this.chunks.length === 0) {
      this.chunks.push([key]);
      this.maxes.push(key);
      this.count = 1;
      return true;
    }
    let c = this.chunkFor(key);
    if (c === this.chunks.length) c--; // beyond every key: append to the last chunk
    const chunk = this.chunks[c]!;
    const i = lowerBound(chunk, key);
    if (i < chunk.length && chunk[i] === key) return false;
    chunk.splice(i, 0, key);
    this.count++;
    if (i === chunk.length - 1) this.maxes[c] = key;
    if (chunk.length > MAX_CHUNK) {
      const half = chunk.splice(chunk.length >> 1);
      this.chunks.splice(c + 1, 0, half);
      this.maxes.splice(c, 1, chunk[chunk.length - 1]!, half[half.length - 1]!);
    }
    return true;
  }

  /** Removes the key; returns false when it was not there. */
  delete(key: string): boolean {
    const c = this.chunkFor(key);
    if (c === this.chunks.length) return false;
    const chunk = this.chunks[c]!;
    const i = lowerBound(chunk, key);
    if (i === chunk.length || chunk[i] !== key) return false;
    chunk.splice(i, 1);
    this.count--;
    if (chunk.length === 0) {
      this.chunks.splice(c, 1);
      this.maxes.splice(c, 1);
    } else if (i === chunk.length) {
      this.maxes[c] = chunk[chunk.length - 1]!;
    }
    return true;
  }

  /** Keys starting with `prefix`, in order ("" yields every key). */
  *withPrefix(prefix: string): Generator<string> {
    let c = this.chunkFor(prefix);
    if (c === this.chunks.length) return;
    let i = lowerBound(this.chunks[c]!, prefix);
    for (; c < this.chunks.length; c++, i = 0) {
      const chunk = this.chunks[c]!;
      for (; i < chunk.length; i++) {
        const key = chunk[i]!;
        if (!key.startsWith(prefix)) return;
        yield key;
      }
    }
  }

  /** Index of the first chunk whose last key is >= key (chunks.length if none). */
  private chunkFor(key: string): number {
    return lowerBound(this.maxes, key);
  }
}

function lowerBound(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  if (isBelowSurrogates(key)) {
    // Native comparison is exact against such a key, and several times faster.
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(sorted[mid]!, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
