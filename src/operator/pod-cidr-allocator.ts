import { cidrsOverlap, nthSubnet, parseCidr } from "../util/ipv4.js";

export class PodCidrExhaustedError extends Error {
  constructor(pool: string, maskSize: number, nodes: number) {
    super(`pod CIDR pool ${pool} is exhausted: all its /${maskSize} subnets are assigned (${nodes} nodes); use a larger pool or a longer node mask`);
    this.name = "PodCidrExhaustedError";
  }
}

/**
 * Gives each node a pod CIDR cut from the cluster pool. Assignments are sticky: a node keeps its
 * CIDR for its lifetime (pods hold addresses from it), and a CIDR is only reused after its node is
 * gone. New nodes get the lowest free subnet, so the plan is predictable (node-1 gets .0/24 ...
 * in a fresh lab, by name order).
 */
export function assignPodCidrs(
  pool: string,
  maskSize: number,
  nodes: readonly string[],
  existing: ReadonlyMap<string, string>,
): { assignments: Map<string, string>; added: Map<string, string>; released: string[] } {
  const p = parseCidr(pool);
  const live = new Set(nodes);
  const assignments = new Map<string, string>();
  const released: string[] = [];
  for (const [node, cidr] of existing) {
    if (live.has(node)) assignments.set(node, cidr);
    else released.push(node);
  }
  const used = [...assignments.values()].map((c) => parseCidr(c));
  const added = new Map<string, string>();
  let i = 0;
  for (const node of [...nodes].sort(naturalCompare)) {
    if (assignments.has(node)) continue;
    for (;;) {
      const s = nthSubnet(p, maskSize, i++);
      if (!s) throw new PodCidrExhaustedError(pool, maskSize, nodes.length);
      if (used.some((u) => cidrsOverlap(u, s))) continue;
      const text = s.text;
      assignments.set(node, text);
      added.set(node, text);
      used.push(s);
      break;
    }
  }
  return { assignments, added, released };
}

/** "node-2" before "node-10". */
export function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true });
}
