import { randomBytes } from "node:crypto";
import { naturalCompare } from "./pod-cidr-allocator.js";

export interface ScheduledPod {
  readonly name: string;
  readonly node: string;
  readonly createdAt: string;
}

export interface ScalePlan {
  readonly create: { name: string; node: string }[];
  readonly remove: string[];
}

/**
 * Decides which pods a deployment gains or loses so that it has `replicas` pods spread evenly over
 * the ready nodes: a new pod goes to the node with the fewest pods of the deployment (then the
 * fewest pods overall, then by name); scaling down removes from the most crowded node, newest pod
 * first, as the ReplicaSet controller prefers. Pods on nodes that are gone are replaced.
 */
export function planScale(
  deployment: string,
  replicas: number,
  pods: readonly ScheduledPod[],
  readyNodes: readonly string[],
  podsPerNode: ReadonlyMap<string, number> = new Map(),
): ScalePlan {
  const nodes = new Set(readyNodes);
  const remove: string[] = pods.filter((p) => !nodes.has(p.node)).map((p) => p.name);
  let kept = pods.filter((p) => nodes.has(p.node));
  const mine = new Map<string, number>([...nodes].map((n) => [n, 0]));
  for (const p of kept) mine.set(p.node, (mine.get(p.node) ?? 0) + 1);
  const total = new Map(podsPerNode);

  while (kept.length > replicas) {
    const crowded = [...mine.entries()].sort((a, b) => b[1] - a[1] || naturalCompare(b[0], a[0]))[0]![0];
    const victim = kept.filter((p) => p.node === crowded).sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.name.localeCompare(a.name))[0]!;
    remove.push(victim.name);
    kept = kept.filter((p) => p !== victim);
    mine.set(crowded, mine.get(crowded)! - 1);
  }

  const create: { name: string; node: string }[] = [];
  if (nodes.size > 0) {
    const taken = new Set(pods.map((p) => p.name));
    for (let k = kept.length; k < replicas; k++) {
      const node = [...mine.keys()].sort((a, b) => mine.get(a)! - mine.get(b)! || (total.get(a) ?? 0) - (total.get(b) ?? 0) || naturalCompare(a, b))[0]!;
      let name: string;
      do name = `${deployment}-${randomBytes(4).toString("hex").slice(0, 5)}`;
      while (taken.has(name));
      taken.add(name);
      create.push({ name, node });
      mine.set(node, mine.get(node)! + 1);
      total.set(node, (total.get(node) ?? 0) + 1);
    }
  }
  return { create, remove };
}
