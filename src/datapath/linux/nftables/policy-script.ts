/**
 * `nft -f` transactions for the policy table: a rebuild (the table deleted and written whole)
 * or a change (only the elements, chains and sets that differ). Either is one transaction, ordered
 * so that each command finds what it refers to: sets before the chains that look them up, chains
 * before the map elements that jump to them, old elements out before their replacements go in.
 */
import {
  chainName,
  EGRESS_MAP,
  endpointChainRules,
  endpointVmapKey,
  INGRESS_MAP,
  IPCACHE_MAP,
  POLICY_TABLE,
  POLICY_TABLE_FAMILY,
  policySkeletonScript,
  SET_KINDS,
  setName,
  type Direction,
  type PlannedEndpoint,
} from "./policy-layout.js";

const T = `${POLICY_TABLE_FAMILY} ${POLICY_TABLE}`;
const DIRECTIONS: readonly Direction[] = ["in", "eg"];

export interface PolicyChange {
  readonly ipcache?: {
    /** Addresses to take out (removed, and the old side of an identity change). */
    readonly remove: readonly string[];
    readonly add: readonly (readonly [ip: string, identity: number])[];
  };
  readonly addEndpoints?: readonly PlannedEndpoint[];
  readonly updateEndpoints?: readonly { readonly from: PlannedEndpoint; readonly to: PlannedEndpoint }[];
  readonly removeEndpoints?: readonly PlannedEndpoint[];
}

/** `add element` / `delete element` commands, one per set, so that a big change stays a few long lines. */
class ElementBatch {
  private readonly bySet = new Map<string, string[]>();
  add(set: string, elements: Iterable<string>): void {
    let list = this.bySet.get(set);
    for (const e of elements) {
      if (!list) this.bySet.set(set, (list = []));
      list.push(e);
    }
  }
  lines(verb: "add" | "delete"): string[] {
    return [...this.bySet].map(([set, elements]) => `${verb} element ${T} ${set} { ${elements.join(", ")} }`);
  }
}

function createEndpointLines(ep: PlannedEndpoint): string[] {
  const lines = SET_KINDS.map((kind) => `add set ${T} ${setName(ep, kind)} { type mark . inet_proto . inet_service; flags interval; }`);
  for (const d of DIRECTIONS) {
    lines.push(`add chain ${T} ${chainName(ep, d)}`, ...endpointChainRules(ep, d).map((rule) => `add rule ${T} ${chainName(ep, d)} ${rule}`));
  }
  return lines;
}

function addEndpointElements(batch: ElementBatch, ep: PlannedEndpoint): void {
  for (const kind of SET_KINDS) batch.add(setName(ep, kind), ep.elements[kind]);
  batch.add(INGRESS_MAP, [`${endpointVmapKey(ep)} : jump ${chainName(ep, "in")}`]);
  batch.add(EGRESS_MAP, [`${endpointVmapKey(ep)} : jump ${chainName(ep, "eg")}`]);
}

/** One transaction that replaces whatever policy table there is with one holding exactly this. */
export function policyRebuildScript(ipcache: Iterable<readonly [string, number]>, endpoints: readonly PlannedEndpoint[]): string {
  // `add` first makes `delete` succeed whether or not the table exists.
  const lines = [`add table ${T}`, `delete table ${T}`, policySkeletonScript()];
  const batch = new ElementBatch();
  batch.add(
    IPCACHE_MAP,
    (function* () {
      for (const [ip, identity] of ipcache) yield `${ip} : ${identity}`;
    })(),
  );
  for (const ep of endpoints) {
    lines.push(...createEndpointLines(ep));
    addEndpointElements(batch, ep);
  }
  lines.push(...batch.lines("add"));
  return lines.join("\n") + "\n";
}

/** One transaction for a change to a table that holds what the change starts from; "" when there is nothing to do. */
export function policyChangeScript(change: PolicyChange): string {
  const lines: string[] = [];
  const removals = new ElementBatch();
  const additions = new ElementBatch();

  removals.add(IPCACHE_MAP, change.ipcache?.remove ?? []);
  for (const ep of change.removeEndpoints ?? []) {
    removals.add(INGRESS_MAP, [endpointVmapKey(ep)]);
    removals.add(EGRESS_MAP, [endpointVmapKey(ep)]);
  }
  const rewrite: { ep: PlannedEndpoint; direction: Direction }[] = [];
  for (const { from, to } of change.updateEndpoints ?? []) {
    for (const kind of SET_KINDS) {
      const before = new Set(from.elements[kind]);
      const after = new Set(to.elements[kind]);
      removals.add(setName(from, kind), from.elements[kind].filter((e) => !after.has(e)));
      additions.add(setName(to, kind), to.elements[kind].filter((e) => !before.has(e)));
    }
    for (const d of DIRECTIONS) if (from.enforced[d] !== to.enforced[d]) rewrite.push({ ep: to, direction: d });
  }
  lines.push(...removals.lines("delete"));

  // A chain goes after the map element that jumped to it; a set after the chain that used it.
  for (const ep of change.removeEndpoints ?? []) {
    for (const d of DIRECTIONS) lines.push(`delete chain ${T} ${chainName(ep, d)}`);
    for (const kind of SET_KINDS) lines.push(`delete set ${T} ${setName(ep, kind)}`);
  }
  for (const ep of change.addEndpoints ?? []) {
    lines.push(...createEndpointLines(ep));
    addEndpointElements(additions, ep);
  }
  for (const { ep, direction } of rewrite) {
    const chain = chainName(ep, direction);
    lines.push(`flush chain ${T} ${chain}`, ...endpointChainRules(ep, direction).map((rule) => `add rule ${T} ${chain} ${rule}`));
  }
  additions.add(
    IPCACHE_MAP,
    (change.ipcache?.add ?? []).map(([ip, identity]) => `${ip} : ${identity}`),
  );
  lines.push(...additions.lines("add"));
  return lines.length ? lines.join("\n") + "\n" : "";
}

/** Deletes the table if there is one. */
export function policyDeleteScript(): string {
  return `add table ${T}\ndelete table ${T}\n`;
}
