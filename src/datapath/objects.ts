import type { DatapathObject, DatapathObjectKind, LbFrontendObject } from "./types.js";

/**
 * Identity of a kernel object: two objects with the same key are the same slot in the kernel
 * (a `replace` of one overwrites the other), so a differing description means an update.
 */
export function objectKey(o: DatapathObject): string {
  switch (o.kind) {
    case "sysctl":
      return `sysctl ${o.name}`;
    case "link":
      return `link ${o.name}`;
    case "address":
      return `address ${o.ip}/${o.prefixLength} dev ${o.dev}`;
    case "fdb":
      // A VXLAN MAC may have several remotes; each is its own entry.
      return `fdb ${o.mac} dev ${o.dev} dst ${o.dst}`;
    case "neigh":
      return `neigh ${o.ip} dev ${o.dev}`;
    case "route":
      return `route ${o.dst}${o.metric ? ` metric ${o.metric}` : ""}`;
    case "lb-table":
      return `lb-table ${o.family} ${o.name}`;
    case "lb-selector":
      return `lb-selector ${o.frontend}/${o.protocol} ${o.backends}`;
    case "lb-frontend":
      return `lb-frontend ${frontendAddress(o)}`;
    case "lb-hairpin":
      return `lb-hairpin ${o.ip}`;
  }
}

/** "198.19.1.10:80/tcp", or "*:30080/tcp" for a nodePort (every local address). */
export function frontendAddress(o: Pick<LbFrontendObject, "ip" | "port" | "protocol">): string {
  return `${o.ip ?? "*"}:${o.port}/${o.protocol}`;
}

/** The object in iproute2's words, as an operator would type it. */
export function describeObject(o: DatapathObject): string {
  switch (o.kind) {
    case "sysctl":
      return `sysctl ${o.name}=${o.value}`;
    case "link":
      return (
        `link ${o.name} type vxlan id ${o.vni} dstport ${o.port} local ${o.local} dev ${o.dev}` +
        `${o.learning ? " learning" : " nolearning"} mtu ${o.mtu} address ${o.mac} ${o.up ? "up" : "down"}`
      );
    case "address":
      return `address ${o.ip}/${o.prefixLength} dev ${o.dev}`;
    case "fdb":
      return `fdb ${o.mac} dev ${o.dev} dst ${o.dst}`;
    case "neigh":
      return `neigh ${o.ip} lladdr ${o.mac} dev ${o.dev} nud permanent`;
    case "route":
      return (
        `route ${o.dst}${o.gateway ? ` via ${o.gateway}` : ""} dev ${o.dev}` +
        `${o.onlink ? " onlink" : ""}${o.metric ? ` metric ${o.metric}` : ""}`
      );
    case "lb-table":
      return `lb-table ${o.family} ${o.name}${unexpected(o.unexpected)}`;
    case "lb-selector":
      return `lb-selector ${o.frontend}/${o.protocol} of ${o.backends} backend${o.backends === 1 ? "" : "s"}${unexpected(o.unexpected)}`;
    case "lb-frontend":
      return (
        `lb-frontend ${o.service} ${o.type} ${frontendAddress(o)} -> ` +
        `${o.backends.length ? o.backends.join(" ") : "reject (no active backend)"}${unexpected(o.unexpected)}`
      );
    case "lb-hairpin":
      return `lb-hairpin ${o.ip}`;
  }
}

const unexpected = (what: string | undefined) => (what ? ` [unexpected: ${what}]` : "");

/**
 * Kinds in the order they depend on each other: a route needs its neighbour, which needs its link;
 * a frontend needs the selector chain it jumps to, which needs the table.
 */
export const KIND_ORDER: readonly DatapathObjectKind[] = [
  "sysctl",
  "address",
  "link",
  "fdb",
  "neigh",
  "route",
  "lb-table",
  "lb-selector",
  "lb-frontend",
  "lb-hairpin",
];

/** Sorts for stable reports: by kind (dependency order), then by key. */
export function sortObjects<T extends DatapathObject>(objects: readonly T[]): T[] {
  const rank = (o: DatapathObject) => KIND_ORDER.indexOf(o.kind);
  return objects
    .map((o) => ({ o, rank: rank(o), key: objectKey(o) }))
    .sort((a, b) => a.rank - b.rank || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((x) => x.o);
}

export interface ObjectDiff {
  readonly add: DatapathObject[];
  readonly update: { from: DatapathObject; to: DatapathObject }[];
  readonly remove: DatapathObject[];
  readonly keep: DatapathObject[];
}

/** What must change to turn `actual` into `desired`, matching objects by key. */
export function diffObjects(desired: readonly DatapathObject[], actual: readonly DatapathObject[]): ObjectDiff {
  const have = new Map<string, DatapathObject>();
  for (const o of actual) have.set(objectKey(o), o);
  const diff: ObjectDiff = { add: [], update: [], remove: [], keep: [] };
  const wanted = new Set<string>();
  for (const want of desired) {
    const key = objectKey(want);
    wanted.add(key);
    const got = have.get(key);
    if (!got) diff.add.push(want);
    else if (describeObject(got) === describeObject(want)) diff.keep.push(want);
    else diff.update.push({ from: got, to: want });
  }
  for (const [key, got] of have) if (!wanted.has(key)) diff.remove.push(got);
  return diff;
}
