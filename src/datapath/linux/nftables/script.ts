/**
 * One `nft -f` transaction for a set of changes to the service table, ordered so each command
 * finds what it refers to: chains before the elements that jump to them, old elements out before
 * their replacements go in, chains deleted once nothing jumps to them. The kernel applies the
 * whole script or none of it, so packets never see a half-changed service.
 */
import type { FrontendType, LbFrontendObject, LbHairpinObject, LbSelectorObject } from "../../types.js";
import {
  backendMap,
  HAIRPIN_SET,
  LB_TABLE,
  LB_TABLE_FAMILY,
  NO_BACKENDS_CHAIN,
  NODEPORTS_MAP,
  selectorChain,
  selectorRules,
  SERVICE_IPS_MAP,
  skeletonScript,
  slotKeyPrefix,
} from "./layout.js";

/** A frontend to delete, with what of it exists in the kernel. */
export interface FrontendRemoval {
  readonly object: LbFrontendObject;
  readonly dispatch: boolean;
  readonly slots: readonly number[];
}

export interface LbScript {
  /** Delete the table first (a table in another layout, or no services left). */
  readonly deleteTable?: boolean;
  /** Write the fixed part of the table. */
  readonly createTable?: boolean;
  readonly addSelectors?: readonly LbSelectorObject[];
  /** Selector chains whose rules are rewritten in place (they were found altered). */
  readonly rewriteSelectors?: readonly LbSelectorObject[];
  readonly removeFrontends?: readonly FrontendRemoval[];
  readonly addFrontends?: readonly LbFrontendObject[];
  readonly removeSelectors?: readonly LbSelectorObject[];
  readonly addHairpins?: readonly LbHairpinObject[];
  readonly removeHairpins?: readonly LbHairpinObject[];
}

const T = `${LB_TABLE_FAMILY} ${LB_TABLE}`;

/** `add element` / `delete element` commands, one per map, so a big change stays a few long lines. */
class ElementBatch {
  private readonly byMap = new Map<string, string[]>();
  add(map: string, element: string): void {
    let list = this.byMap.get(map);
    if (!list) this.byMap.set(map, (list = []));
    list.push(element);
  }
  lines(verb: "add" | "delete"): string[] {
    return [...this.byMap].map(([map, elements]) => `${verb} element ${T} ${map} { ${elements.join(", ")} }`);
  }
}

function dispatchMap(type: FrontendType): string {
  return type === "nodePort" ? NODEPORTS_MAP : SERVICE_IPS_MAP;
}

function dispatchKey(f: LbFrontendObject): string {
  return f.type === "nodePort" ? `${f.protocol} . ${f.port}` : `${f.ip} . ${f.protocol} . ${f.port}`;
}

function slotKey(type: FrontendType, f: { ip?: string; port: number }, slot: number): string {
  return `${slotKeyPrefix(type, f.ip, f.port)} . ${slot}`;
}

function backendValue(backend: string): string {
  const colon = backend.lastIndexOf(":");
  return `${backend.slice(0, colon)} . ${backend.slice(colon + 1)}`;
}

function selectorLines(s: LbSelectorObject): string[] {
  const chain = selectorChain(s.frontend, s.protocol, s.backends);
  return selectorRules(s.frontend, s.protocol, s.backends).map((rule) => `add rule ${T} ${chain} ${rule}`);
}

export function lbScript(change: LbScript): string {
  const lines: string[] = [];
  if (change.deleteTable) lines.push(`delete table ${T}`);
  if (change.createTable) lines.push(skeletonScript());

  for (const s of change.addSelectors ?? []) lines.push(`add chain ${T} ${selectorChain(s.frontend, s.protocol, s.backends)}`, ...selectorLines(s));
  for (const s of change.rewriteSelectors ?? []) lines.push(`flush chain ${T} ${selectorChain(s.frontend, s.protocol, s.backends)}`, ...selectorLines(s));

  const removals = new ElementBatch();
  for (const { object: f, dispatch, slots } of change.removeFrontends ?? []) {
    if (dispatch) removals.add(dispatchMap(f.type), dispatchKey(f));
    for (const slot of slots) removals.add(backendMap(f.type, f.protocol), slotKey(f.type, f, slot));
  }
  for (const h of change.removeHairpins ?? []) removals.add(HAIRPIN_SET, `${h.ip} . ${h.ip}`);
  lines.push(...removals.lines("delete"));

  const additions = new ElementBatch();
  for (const f of change.addFrontends ?? []) {
    f.backends.forEach((b, slot) => additions.add(backendMap(f.type, f.protocol), `${slotKey(f.type, f, slot)} : ${backendValue(b)}`));
  }
  for (const f of change.addFrontends ?? []) {
    const target = f.backends.length ? selectorChain(f.type, f.protocol, f.backends.length) : NO_BACKENDS_CHAIN;
    // The comment is how a restarted agent learns which service and frontend type an entry is for.
    additions.add(dispatchMap(f.type), `${dispatchKey(f)} comment "${f.service} ${f.type}" : goto ${target}`);
  }
  for (const h of change.addHairpins ?? []) additions.add(HAIRPIN_SET, `${h.ip} . ${h.ip}`);
  lines.push(...additions.lines("add"));

  for (const s of change.removeSelectors ?? []) lines.push(`delete chain ${T} ${selectorChain(s.frontend, s.protocol, s.backends)}`);
  return lines.length ? lines.join("\n") + "\n" : "";
}
