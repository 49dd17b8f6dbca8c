/**
 * Reading the service table back from `nft -j list table ip trellis_lb`, for the first reconcile
 * after a start and for the periodic resync. What is found becomes the same objects the plan
 * makes, so an intact table compares equal to the desired state and nothing is rewritten;
 * anything else is marked `unexpected` and gets rewritten.
 */
import type { FrontendType, LbFrontendObject, LbHairpinObject, LbSelectorObject, LbTableObject, ServiceProtocol } from "../../types.js";
import type { NftJson } from "../commands.js";
import {
  backendMap,
  HAIRPIN_SET,
  LB_TABLE,
  LB_TABLE_FAMILY,
  NO_BACKENDS_CHAIN,
  NODEPORTS_MAP,
  parseSelectorChain,
  selectorShape,
  SERVICE_IPS_MAP,
  SKELETON_CHAINS,
  SKELETON_SETS,
  type ChainShape,
} from "./layout.js";

/** A frontend as found, with the kernel facts needed to delete exactly what is there. */
export interface InstalledFrontend {
  readonly object: LbFrontendObject;
  /** Whether its dispatch element exists (false for backend slots left without one). */
  readonly dispatch: boolean;
  /** Slot numbers present in its backend map. */
  readonly slots: readonly number[];
}

export interface InstalledLb {
  /** Undefined when the table does not exist. */
  readonly table?: LbTableObject;
  readonly selectors: LbSelectorObject[];
  readonly frontends: InstalledFrontend[];
  readonly hairpins: LbHairpinObject[];
}

export const NO_TABLE: InstalledLb = { selectors: [], frontends: [], hairpins: [] };

interface ChainJson {
  name: string;
  type?: string;
  hook?: string;
  prio?: number;
  policy?: string;
}
interface RuleJson {
  chain: string;
  expr?: unknown[];
}
interface SetJson {
  name: string;
  type?: string | string[];
  map?: string;
  elem?: unknown[];
}

type Scalar = string | number;

/** An element key: a concat (`{concat: [...]}`), possibly wrapped with a comment (`{elem: {val, comment}}`). */
function elementKey(raw: unknown): { parts: Scalar[]; comment?: string } | undefined {
  let value = raw;
  let comment: string | undefined;
  if (value && typeof value === "object" && "elem" in value) {
    const e = (value as { elem: { val?: unknown; comment?: string } }).elem;
    value = e.val;
    comment = e.comment;
  }
  const parts = value && typeof value === "object" && "concat" in value ? (value as { concat: unknown[] }).concat : [value];
  if (!parts.every((p) => typeof p === "string" || typeof p === "number")) return undefined;
  return { parts: parts as Scalar[], ...(comment !== undefined ? { comment } : {}) };
}

function gotoTarget(verdict: unknown): string | undefined {
  const target = (verdict as { goto?: { target?: unknown } } | undefined)?.goto?.target;
  return typeof target === "string" ? target : undefined;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function shapeIssue(name: string, chain: ChainJson, rules: readonly unknown[][], shape: ChainShape): string | undefined {
  const base = chain.hook ? { type: chain.type, hook: chain.hook, prio: chain.prio, policy: chain.policy } : undefined;
  if (!same(base, shape.base)) return `chain ${name} is hooked as ${JSON.stringify(base ?? "a regular chain")}`;
  if (!same(rules, shape.rules)) return `chain ${name} has other rules`;
  return undefined;
}

export function parseLbTable(json: NftJson | undefined): InstalledLb {
  if (!json) return NO_TABLE;
  const chains = new Map<string, ChainJson>();
  const rules = new Map<string, unknown[][]>();
  const sets = new Map<string, SetJson>();
  for (const item of json.nftables) {
    if ("chain" in item) chains.set((item.chain as ChainJson).name, item.chain as ChainJson);
    else if ("rule" in item) {
      const r = item.rule as RuleJson;
      rules.set(r.chain, [...(rules.get(r.chain) ?? []), r.expr ?? []]);
    } else if ("map" in item) sets.set((item.map as SetJson).name, item.map as SetJson);
    else if ("set" in item) sets.set((item.set as SetJson).name, item.set as SetJson);
  }

  const tableIssues: string[] = [];
  for (const [name, shape] of Object.entries(SKELETON_SETS)) {
    const s = sets.get(name);
    if (!s) tableIssues.push(`${name} is missing`);
    else if (!same(s.type, shape.type) || s.map !== shape.map) tableIssues.push(`${name} has type ${JSON.stringify(s.type)}${s.map ? ` : ${s.map}` : ""}`);
  }
  for (const name of sets.keys()) if (!(name in SKELETON_SETS)) tableIssues.push(`unknown set ${name}`);

  const selectors: LbSelectorObject[] = [];
  for (const [name, chain] of chains) {
    const found = rules.get(name) ?? [];
    const skeleton = SKELETON_CHAINS[name];
    if (skeleton) {
      const issue = shapeIssue(name, chain, found, skeleton);
      if (issue) tableIssues.push(issue);
      continue;
    }
    const selector = parseSelectorChain(name);
    if (!selector) {
      tableIssues.push(`unknown chain ${name}`);
      continue;
    }
    const issue = shapeIssue(name, chain, found, selectorShape(selector.type, selector.protocol, selector.backends));
    selectors.push({ kind: "lb-selector", frontend: selector.type, protocol: selector.protocol, backends: selector.backends, ...(issue ? { unexpected: issue } : {}) });
  }
  for (const name of Object.keys(SKELETON_CHAINS)) if (!chains.has(name)) tableIssues.push(`chain ${name} is missing`);

  const hairpins: LbHairpinObject[] = [];
  for (const raw of sets.get(HAIRPIN_SET)?.elem ?? []) {
    const key = elementKey(raw);
    if (key && key.parts.length === 2 && key.parts[0] === key.parts[1] && typeof key.parts[0] === "string") hairpins.push({ kind: "lb-hairpin", ip: key.parts[0] });
    else tableIssues.push(`hairpin element ${JSON.stringify(raw)}`);
  }

  const table: LbTableObject = {
    kind: "lb-table",
    family: LB_TABLE_FAMILY,
    name: LB_TABLE,
    ...(tableIssues.length ? { unexpected: tableIssues.join("; ") } : {}),
  };
  return { table, selectors, frontends: parseFrontends(sets), hairpins };
}

/** Slots of each backend map, by frontend key (the key without its slot number). */
type Slots = Map<string, Map<number, string>>;

function readSlots(map: SetJson | undefined): Slots {
  const slots: Slots = new Map();
  for (const raw of map?.elem ?? []) {
    if (!Array.isArray(raw) || raw.length !== 2) continue;
    const key = elementKey(raw[0]);
    const value = elementKey(raw[1]);
    if (!key || !value || value.parts.length !== 2) continue;
    const slot = key.parts.at(-1);
    if (typeof slot !== "number") continue;
    const prefix = key.parts.slice(0, -1).join(" . ");
    const entry = slots.get(prefix) ?? new Map<number, string>();
    entry.set(slot, `${value.parts[0]}:${value.parts[1]}`);
    slots.set(prefix, entry);
  }
  return slots;
}

const TYPES: readonly FrontendType[] = ["clusterIP", "loadBalancer", "nodePort"];

function parseFrontends(sets: Map<string, SetJson>): InstalledFrontend[] {
  const slotMaps = new Map<string, Slots>();
  const slotsOf = (type: FrontendType, protocol: ServiceProtocol): Slots => {
    const name = backendMap(type, protocol);
    let s = slotMaps.get(name);
    if (!s) slotMaps.set(name, (s = readSlots(sets.get(name))));
    return s;
  };
  const frontends: InstalledFrontend[] = [];
  const dispatch = (mapName: string, nodePort: boolean) => {
    for (const raw of sets.get(mapName)?.elem ?? []) {
      if (!Array.isArray(raw) || raw.length !== 2) continue;
      const key = elementKey(raw[0]);
      if (!key) continue;
      const [ip, protocol, port] = nodePort ? [undefined, key.parts[0], key.parts[1]] : key.parts;
      if ((protocol !== "tcp" && protocol !== "udp") || typeof port !== "number" || (!nodePort && typeof ip !== "string")) continue;
      const issues: string[] = [];
      const [service = "", typeWord] = (key.comment ?? "").split(" ");
      let type = TYPES.find((t) => t === typeWord);
      if (!type || (type === "nodePort") !== nodePort) {
        issues.push(`comment ${JSON.stringify(key.comment ?? null)} names no frontend type`);
        type = nodePort ? "nodePort" : "clusterIP";
      }
      const target = gotoTarget(raw[1]);
      const selector = target ? parseSelectorChain(target) : undefined;
      const count = selector ? selector.backends : 0;
      if (target !== NO_BACKENDS_CHAIN && (!selector || selector.type !== type || selector.protocol !== protocol)) issues.push(`verdict ${JSON.stringify(raw[1])}`);
      const slotMap = slotsOf(type, protocol);
      const prefix = nodePort ? `${port}` : `${ip} . ${port}`;
      const found = slotMap.get(prefix) ?? new Map<number, string>();
      slotMap.delete(prefix);
      const backends: string[] = [];
      for (let i = 0; i < count; i++) {
        const b = found.get(i);
        if (b === undefined) issues.push(`slot ${i} is missing`);
        else backends.push(b);
      }
      const extra = [...found.keys()].filter((i) => i >= count);
      if (extra.length) issues.push(`extra slots ${extra.join(",")}`);
      const object: LbFrontendObject = {
        kind: "lb-frontend",
        service,
        type,
        ...(nodePort ? {} : { ip: ip as string }),
        protocol,
        port,
        backends,
        ...(issues.length ? { unexpected: issues.join("; ") } : {}),
      };
      frontends.push({ object, dispatch: true, slots: [...found.keys()] });
    }
  };
  dispatch(SERVICE_IPS_MAP, false);
  dispatch(NODEPORTS_MAP, true);

  // Slots no dispatch element leads to: left over from an interrupted edit, to be deleted.
  for (const protocol of ["tcp", "udp"] as const) {
    for (const type of ["clusterIP", "nodePort"] as const) {
      for (const [prefix, found] of slotsOf(type, protocol)) {
        const parts = prefix.split(" . ");
        const port = Number(parts.at(-1));
        const object: LbFrontendObject = {
          kind: "lb-frontend",
          service: "",
          type,
          ...(type === "nodePort" ? {} : { ip: parts[0]! }),
          protocol,
          port,
          backends: [...found.values()],
          unexpected: "backend slots without a frontend",
        };
        frontends.push({ object, dispatch: false, slots: [...found.keys()] });
      }
    }
  }
  return frontends;
}
