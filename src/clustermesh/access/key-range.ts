/**
 * The key ranges an etcd role's permissions cover, in the words an operator uses (one key, a
 * prefix, every key) and in etcd's own form ([key, range_end) as bytes). etcd stores only the
 * bytes, so reading a role back means recognising which of the named forms a range is.
 */

export type KeyRange =
  | { readonly kind: "key"; readonly key: string }
  | { readonly kind: "prefix"; readonly prefix: string }
  | { readonly kind: "all" }
  /** Anything else etcd holds: [from, to), or from `from` onwards when `to` is "\0". */
  | { readonly kind: "range"; readonly from: string; readonly to: string };

export type Access = "read" | "write" | "readwrite";

export interface KeyPermission {
  readonly access: Access;
  readonly range: KeyRange;
}

/** A range as etcd's auth API takes and returns it. An empty rangeEnd means the single key. */
export interface EtcdRange {
  readonly key: Buffer;
  readonly rangeEnd: Buffer;
}

const ZERO = Buffer.from([0]);
const EMPTY = Buffer.alloc(0);

/** The first key after every key starting with `prefix` (etcd's prefix range end). */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  // A prefix of only 0xff bytes has no successor: the range runs to the end of the keyspace.
  return ZERO;
}

export function toEtcdRange(range: KeyRange): EtcdRange {
  switch (range.kind) {
    case "key":
      return { key: Buffer.from(range.key, "utf8"), rangeEnd: EMPTY };
    case "prefix": {
      const key = Buffer.from(range.prefix, "utf8");
      return { key, rangeEnd: prefixEnd(key) };
    }
    case "all":
      return { key: ZERO, rangeEnd: ZERO };
    case "range":
      return { key: Buffer.from(range.from, "utf8"), rangeEnd: Buffer.from(range.to, "utf8") };
  }
}

export function fromEtcdRange(range: EtcdRange): KeyRange {
  const { key, rangeEnd } = range;
  if (rangeEnd.length === 0) return { kind: "key", key: key.toString("utf8") };
  if (key.equals(ZERO) && rangeEnd.equals(ZERO)) return { kind: "all" };
  if (key.length > 0 && prefixEnd(key).equals(rangeEnd)) return { kind: "prefix", prefix: key.toString("utf8") };
  return { kind: "range", from: key.toString("utf8"), to: rangeEnd.toString("utf8") };
}

/** Same keys covered: compared as etcd compares them, by bytes. */
export function sameEtcdRange(a: EtcdRange, b: EtcdRange): boolean {
  return a.key.equals(b.key) && a.rangeEnd.equals(b.rangeEnd);
}

export function formatRange(range: KeyRange): string {
  switch (range.kind) {
    case "key":
      return `key ${range.key}`;
    case "prefix":
      return `prefix ${range.prefix}`;
    case "all":
      return "every key";
    case "range":
      return range.to === "\0" ? `keys from ${JSON.stringify(range.from)} on` : `keys from ${JSON.stringify(range.from)} up to ${JSON.stringify(range.to)}`;
  }
}

/** "read prefix cilium/state/", "readwrite every key". */
export function formatPermission(permission: KeyPermission): string {
  return `${permission.access} ${formatRange(permission.range)}`;
}
