/**
 * Policy keys as elements of an interval set keyed by `mark . inet_proto . inet_service`.
 *
 * Keys overlap (a wildcard "0/6/80" contains "65537/6/80"), and the kernel's set for
 * concatenated ranges refuses an element whose start or end falls inside an element already in
 * the set ("File exists"; checked on 6.18), so keys cannot be written one element each. Instead
 * the union of a set's keys is cut into disjoint boxes. The cut depends only on the union
 * (identity first, then protocol, then port, each merged as far as it goes), so the same keys
 * always give the same elements and two states can be diffed element by element.
 */
import { keyRanges, type PolicyKey } from "../../../policy/index.js";

type Range = readonly [number, number];

interface Box {
  readonly identity: Range;
  readonly protocol: Range;
  readonly port: Range;
}

/** The elements, in nft syntax (`65537-65537 . 6-6 . 80-80`, `0-16777215 . 0-255 . 0-65535`), that cover exactly `keys`. */
export function policySetElements(keys: Iterable<PolicyKey>): string[] {
  const boxes: Box[] = [];
  for (const key of keys) boxes.push(keyRanges(key));
  const elements: string[] = [];
  for (const [identity, byProtocol] of cut(boxes, (b) => b.identity, (inner) => cut(inner, (b) => b.protocol, portUnion))) {
    for (const [protocol, ports] of byProtocol) {
      for (const port of ports) elements.push(`${show(identity)} . ${show(protocol)} . ${show(port)}`);
    }
  }
  return elements;
}

/**
 * Always as a range, even a single value: nft 1.0.6 cannot delete an element of a concatenated
 * interval set written with single values only ("No such file or directory"; `7-7 . 6-6 . 80-80`
 * works, checked here), and one spelling keeps additions and deletions symmetric.
 */
function show([lo, hi]: Range): string {
  return `${lo}-${hi}`;
}

/**
 * Splits the axis `axis` of `boxes` into segments where the same boxes apply, describes each
 * segment's boxes with `inner`, and merges neighbouring segments whose descriptions are equal.
 */
function cut<T>(boxes: readonly Box[], axis: (b: Box) => Range, inner: (covering: Box[]) => T): [Range, T][] {
  if (boxes.length === 0) return [];
  const points = [...new Set(boxes.flatMap((b) => [axis(b)[0], axis(b)[1] + 1]))].sort((a, b) => a - b);
  const out: [Range, T][] = [];
  let previous: { range: [number, number]; value: T; text: string } | undefined;
  for (let i = 0; i + 1 < points.length; i++) {
    const lo = points[i]!;
    const hi = points[i + 1]! - 1;
    const covering = boxes.filter((b) => axis(b)[0] <= lo && axis(b)[1] >= hi);
    if (covering.length === 0) {
      previous = undefined;
      continue;
    }
    const value = inner(covering);
    const text = JSON.stringify(value);
    if (previous && previous.range[1] + 1 === lo && previous.text === text) {
      previous.range[1] = hi;
      continue;
    }
    previous = { range: [lo, hi], value, text };
    out.push([previous.range, value]);
  }
  return out;
}

/** The ports of `boxes` as sorted, disjoint, non-adjacent ranges. */
function portUnion(boxes: readonly Box[]): Range[] {
  const sorted = boxes.map((b) => b.port).sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = out.at(-1);
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}
