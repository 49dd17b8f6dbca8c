import type { Value } from "./kvstore.js";

/** Bytes of a value without copying when it already is bytes (the caller keeps ownership). */
export function valueBytes(value: Value): Buffer {
  if (typeof value === "string") return Buffer.from(value, "utf8");
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError(`kvstore: a value must be a string or bytes (got ${describe(value)})`);
}

/** Throws a clear error for a key etcd would refuse (etcd: "key is not provided"). */
export function checkKey(key: unknown, what = "key"): asserts key is string {
  if (typeof key !== "string" || key.length === 0) {
    throw new TypeError(`kvstore: ${what} must be a non-empty string (got ${describe(key)})`);
  }
}

export function checkPrefix(prefix: unknown): asserts prefix is string {
  if (typeof prefix !== "string") throw new TypeError(`kvstore: a prefix must be a string, "" for every key (got ${describe(prefix)})`);
}

export function describe(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (v === null || v === undefined) return String(v);
  if (typeof v === "object") return v.constructor?.name ?? "object";
  return `${typeof v} ${String(v)}`;
}

/**
 * Orders keys as etcd does: by their UTF-8 bytes. JavaScript's `<` orders UTF-16 code units, which
 * agrees except when a surrogate (U+D800–DFFF) meets a code unit in U+E000–FFFF.
 */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  if (isBelowSurrogates(a) || isBelowSurrogates(b)) return a < b ? -1 : 1;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) return utf8Rank(x) - utf8Rank(y);
      return x - y;
    }
  }
  return a.length - b.length;
}

const SURROGATE_OR_ABOVE = /[\uD800-\uFFFF]/;

/**
 * True when no code unit is U+D800 or above. The two orders can only disagree where both strings
 * have such a unit at their first difference, so comparing such a string natively is exact.
 */
export function isBelowSurrogates(key: string): boolean {
  return !SURROGATE_OR_ABOVE.test(key);
}

function utf8Rank(unit: number): number {
  // Surrogates encode code points above U+FFFF, whose UTF-8 sorts after every BMP character.
  return unit >= 0xe000 ? unit - 0x800 : unit >= 0xd800 ? unit + 0x2000 : unit;
}

export function checkTtl(ttlSeconds: unknown): asserts ttlSeconds is number {
  if (typeof ttlSeconds !== "number" || !Number.isInteger(ttlSeconds) || ttlSeconds < 1) {
    throw new RangeError(`kvstore: a lease TTL must be a whole number of seconds, at least 1 (got ${describe(ttlSeconds)})`);
  }
}
