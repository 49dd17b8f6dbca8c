/**
 * The service stage of the Linux datapath's reconcile. Unlike the iproute2 stage it keeps a record
 * of what it applied: reading a table of 10,000 services back takes seconds with nft 1.0.6, so it
 * reads the table in full only on its first reconcile (adopting what an earlier agent left: the
 * same desired state changes nothing), on the periodic resync, and after a failed transaction.
 * In between, a reconcile diffs against the record and sends only the difference, so one backend
 * change is one small transaction whatever the number of services.
 *
 * The record also remembers which ServiceSpec objects it was built from. Specs are immutable
 * values, so a spec passed again as the same object is unchanged: the next reconcile checks,
 * plans and diffs only the specs that are new or gone (one Set lookup for each of the others).
 * After a read, a full check and diff rebuild that index.
 */
import { DatapathError } from "../../errors.js";
import { describeObject, objectKey } from "../../objects.js";
import { ownServiceIssues, serviceFrontendKeys, serviceIssues } from "../../services.js";
import type {
  DatapathObjectKind,
  DatapathProblem,
  DesiredNodeState,
  LbFrontendObject,
  LbHairpinObject,
  LbObject,
  LbSelectorObject,
  LbTableObject,
  ObjectUpdate,
  ServiceSpec,
} from "../../types.js";
import type { KernelTools } from "../commands.js";
import { LB_TABLE, LB_TABLE_FAMILY } from "./layout.js";
import { lbTable, selectorFor, selectorKeyOf, serviceFrontends } from "./plan.js";
import { NO_TABLE, parseLbTable, type InstalledLb } from "./read.js";
import { lbScript, type FrontendRemoval } from "./script.js";

export interface LbStageResult {
  readonly added: LbObject[];
  readonly updated: ObjectUpdate[];
  readonly removed: LbObject[];
  readonly kept: Partial<Record<DatapathObjectKind, number>>;
  readonly problems: DatapathProblem[];
  /** Whether this reconcile read the table from the kernel (first run, resync, recovery). */
  readonly readTable: boolean;
}

/** The services of one desired state, checked; `delta` when they differ from the applied ones only by it. */
export interface PreparedServices {
  readonly services: readonly ServiceSpec[];
  readonly hairpins: readonly LbHairpinObject[];
  /** Problems with the services, each naming the service, field and value (as serviceIssues words them). */
  readonly issues: readonly string[];
  readonly delta?: { readonly added: readonly ServiceSpec[]; readonly removed: readonly ServiceSpec[] };
}

interface Entry {
  readonly object: LbObject;
  readonly description: string;
  /** Kernel facts of a frontend read back (what to delete); absent: exactly as its object says. */
  readonly removal?: FrontendRemoval;
}

interface TableRecord {
  table?: LbTableObject;
  /** By object key. */
  readonly frontends: Map<string, Entry>;
  readonly selectors: Map<string, Entry>;
  readonly hairpins: Map<string, Entry>;
}

type SelectorUses = Map<string, { count: number; readonly selector: LbSelectorObject }>;

/** Which specs the record was built from, valid only while nothing but this stage changed the table. */
interface SpecIndex {
  readonly specs: Set<ServiceSpec>;
  readonly ids: Map<string, ServiceSpec>;
  /** Frontend address ("ip:port/proto") -> the spec it belongs to. */
  readonly owners: Map<string, ServiceSpec>;
  /** How many frontends use each selector beyond the fixed ones. */
  selectorUses: SelectorUses;
}

/** Keys and descriptions of planned objects are computed once per object (frontends are cached per spec). */
const keys = new WeakMap<object, string>();
const descriptions = new WeakMap<object, string>();
const keyOf = (o: LbObject) => keys.get(o) ?? (keys.set(o, objectKey(o)), keys.get(o)!);
const descriptionOf = (o: LbObject) => descriptions.get(o) ?? (descriptions.set(o, describeObject(o)), descriptions.get(o)!);
const entryOf = (object: LbObject, removal?: FrontendRemoval): Entry => ({ object, description: descriptionOf(object), ...(removal ? { removal } : {}) });

/** Reads the table and lists its objects, without any record: for tests and teardown. */
export async function readServiceTable(tools: KernelTools): Promise<LbObject[]> {
  return objectsOf(parseLbTable(await tools.nftListTable(LB_TABLE_FAMILY, LB_TABLE)));
}

function objectsOf(lb: InstalledLb): LbObject[] {
  return lb.table ? [lb.table, ...lb.selectors, ...lb.frontends.map((f) => f.object), ...lb.hairpins] : [];
}

function recordOf(lb: InstalledLb): TableRecord {
  const byKey = <T extends LbObject>(list: readonly T[], removal?: (o: T, i: number) => FrontendRemoval) =>
    new Map(list.map((o, i) => [keyOf(o), entryOf(o, removal?.(o, i))]));
  return {
    ...(lb.table ? { table: lb.table } : {}),
    frontends: byKey(
      lb.frontends.map((f) => f.object),
      (_, i) => lb.frontends[i]!,
    ),
    selectors: byKey(lb.selectors),
    hairpins: byKey(lb.hairpins),
  };
}

function removalOf(entry: Entry): FrontendRemoval {
  const f = entry.object as LbFrontendObject;
  return entry.removal ?? { object: f, dispatch: true, slots: f.backends.map((_, i) => i) };
}

function indexOf(services: readonly ServiceSpec[]): SpecIndex {
  const index: SpecIndex = { specs: new Set(services), ids: new Map(), owners: new Map(), selectorUses: new Map() };
  for (const spec of services) {
    index.ids.set(spec.id, spec);
    for (const { key } of serviceFrontendKeys(spec)) index.owners.set(key, spec);
    for (const f of serviceFrontends(spec)) countUse(index.selectorUses, f, +1);
  }
  return index;
}

function countUse(uses: SelectorUses, f: LbFrontendObject, by: number): void {
  const key = selectorKeyOf(f);
  if (!key) return;
  const use = uses.get(key) ?? { count: 0, selector: selectorFor(f) };
  use.count += by;
  if (use.count > 0) uses.set(key, use);
  else uses.delete(key);
}

/** The selector uses after `change`, from the uses before it (a copy: the index changes only once applied). */
function usesAfter(before: SelectorUses, change: FrontendChange): SelectorUses {
  const uses: SelectorUses = new Map([...before].map(([key, use]) => [key, { ...use }]));
  for (const e of [...change.removed, ...change.updated.map((u) => u.entry)]) countUse(uses, e.object as LbFrontendObject, -1);
  for (const f of [...change.added, ...change.updated.map((u) => u.to)]) countUse(uses, f, +1);
  return uses;
}

/** What must change in one group of objects (selectors, hairpins) to hold exactly `wanted`. */
function diffGroup<T extends LbObject>(wanted: readonly T[], have: Map<string, Entry>) {
  const added: T[] = [];
  const kept: T[] = [];
  const updated: { entry: Entry; to: T }[] = [];
  const seen = new Set<string>();
  for (const o of wanted) {
    const key = keyOf(o);
    seen.add(key);
    const entry = have.get(key);
    if (!entry) added.push(o);
    else if (entry.description === descriptionOf(o)) kept.push(o);
    else updated.push({ entry, to: o });
  }
  const removed = [...have].filter(([key]) => !seen.has(key)).map(([, entry]) => entry);
  return { added, kept, updated, removed };
}

/** A change to the frontends: entries leaving (removed, or the old side of an update) and objects arriving. */
interface FrontendChange {
  readonly added: LbFrontendObject[];
  readonly updated: { entry: Entry; to: LbFrontendObject }[];
  readonly removed: Entry[];
  readonly kept: number;
}

export class ServiceTable {
  private record: TableRecord | undefined;
  private index: SpecIndex | undefined;
  private readAt = 0;

  constructor(
    private readonly tools: KernelTools,
    /** A reconcile this long after the last full read reads the table again. */
    private readonly resyncMs: number,
  ) {}

  /**
   * Checks the desired services, before anything is changed. Specs already applied are known to
   * be well-formed and not to clash with each other, so only new specs are checked; when one of
   * them has a problem, the full check words the problems exactly as serviceIssues does.
   */
  prepare(desired: DesiredNodeState): PreparedServices {
    const hairpins = (Array.isArray(desired.endpoints) ? desired.endpoints : []).map((e): LbHairpinObject => ({ kind: "lb-hairpin", ip: e?.ip }));
    const list = desired.services ?? [];
    const full = (): PreparedServices => ({ services: list, hairpins, issues: serviceIssues(list) });
    const index = this.index;
    if (!index || !Array.isArray(list)) return full();
    const present = new Set<ServiceSpec>();
    const added: ServiceSpec[] = [];
    for (const spec of list) {
      if (spec === null || typeof spec !== "object" || present.has(spec)) return full();
      present.add(spec);
      if (!index.specs.has(spec)) added.push(spec);
    }
    const removed = present.size - added.length < index.specs.size ? [...index.specs].filter((s) => !present.has(s)) : [];
    const gone = new Set(removed);
    const ids = new Set<string>();
    const frontends = new Set<string>();
    for (const spec of added) {
      if (ownServiceIssues(spec).length) return full();
      const owner = index.ids.get(spec.id);
      if ((owner && !gone.has(owner)) || ids.has(spec.id)) return full();
      ids.add(spec.id);
      for (const { key } of serviceFrontendKeys(spec)) {
        const holder = index.owners.get(key);
        if ((holder && !gone.has(holder)) || frontends.has(key)) return full();
        frontends.add(key);
      }
    }
    return { services: list, hairpins, issues: [], delta: { added, removed } };
  }

  /** Makes the table hold exactly the prepared services (none: no table at all). */
  async reconcile(prepared: PreparedServices): Promise<LbStageResult> {
    let readTable = false;
    try {
      if (!this.record || performance.now() - this.readAt >= this.resyncMs) {
        await this.read(prepared.services.length > 0);
        readTable = true;
      }
      try {
        return { ...(await this.apply(prepared)), readTable };
      } catch (e) {
        if (!(e instanceof DatapathError)) throw e;
        // Usually the table changed behind the agent's back and the record is wrong: read it and
        // try once more; a second failure is reported.
        await this.read(prepared.services.length > 0);
        readTable = true;
        return { ...(await this.apply(prepared)), readTable };
      }
    } catch (e) {
      if (!(e instanceof DatapathError)) throw e;
      this.record = undefined;
      this.index = undefined;
      const problems: DatapathProblem[] = [{ message: `could not program the service table: ${e.message}` }];
      return { added: [], updated: [], removed: [], kept: {}, problems, readTable };
    }
  }

  /** Deletes the whole table (everything Trellis has in nftables); returns what was in it. */
  async teardown(): Promise<LbObject[]> {
    const found = await this.tools.nftListTable(LB_TABLE_FAMILY, LB_TABLE).catch((e: unknown) => {
      // With no nft there can be no table of Trellis's either.
      if (e instanceof DatapathError && /nft is not installed/.test(e.message)) return undefined;
      throw e;
    });
    const objects = objectsOf(parseLbTable(found));
    if (objects.length) await this.tools.nftApply(lbScript({ deleteTable: true }));
    this.record = recordOf(NO_TABLE);
    this.index = indexOf([]);
    this.readAt = performance.now();
    return objects;
  }

  private async read(needNft: boolean): Promise<void> {
    this.record = undefined;
    this.index = undefined;
    let found: InstalledLb;
    try {
      found = parseLbTable(await this.tools.nftListTable(LB_TABLE_FAMILY, LB_TABLE));
    } catch (e) {
      // A node without nft that is asked for no services is fine as it is.
      if (needNft || !(e instanceof DatapathError && /nft is not installed/.test(e.message))) throw e;
      found = NO_TABLE;
    }
    this.record = recordOf(found);
    this.readAt = performance.now();
  }

  private async apply(prepared: PreparedServices): Promise<Omit<LbStageResult, "readTable">> {
    const record = this.record!;
    if (prepared.services.length === 0) {
      this.index = indexOf([]);
      if (!record.table) return { added: [], updated: [], removed: [], kept: {}, problems: [] };
      await this.tools.nftApply(lbScript({ deleteTable: true }));
      const removed = [record.table, ...[...record.frontends.values(), ...record.selectors.values(), ...record.hairpins.values()].map((e) => e.object)];
      this.record = recordOf(NO_TABLE);
      return { added: [], updated: [], removed, kept: {}, problems: [] };
    }

    const table = lbTable();
    const rewriteTable = record.table?.unexpected !== undefined;
    const delta = this.index && !rewriteTable ? prepared.delta : undefined;
    const rebuilt = delta ? undefined : indexOf(prepared.services);
    const frontends = delta ? this.frontendDelta(delta.added, delta.removed) : this.frontendDiff(prepared.services);
    const uses = delta ? usesAfter(this.index!.selectorUses, frontends) : rebuilt!.selectorUses;
    const selectorsWanted = [...uses.values()].map((u) => u.selector);
    const selectors = diffGroup(selectorsWanted, record.selectors);
    const hairpins = diffGroup(prepared.hairpins, record.hairpins);

    const added: LbObject[] = [...selectors.added, ...frontends.added, ...hairpins.added];
    const updated: ObjectUpdate[] = [...selectors.updated, ...frontends.updated, ...hairpins.updated].map((u) => ({ from: u.entry.object, to: u.to }));
    const removedEntries = [...selectors.removed, ...frontends.removed, ...hairpins.removed];
    const kept: Partial<Record<DatapathObjectKind, number>> = { "lb-frontend": frontends.kept, "lb-selector": selectors.kept.length, "lb-hairpin": hairpins.kept.length };
    if (!record.table) added.unshift(table);
    else if (rewriteTable) updated.unshift({ from: record.table, to: table });
    else kept["lb-table"] = 1;

    const frontendsNow = (): LbFrontendObject[] => prepared.services.flatMap((s) => [...serviceFrontends(s)]);
    const script = rewriteTable
      ? // The table is replaced whole, so everything wanted is written again, changed or not.
        lbScript({
          deleteTable: true,
          createTable: true,
          addSelectors: selectorsWanted,
          addFrontends: frontendsNow(),
          addHairpins: prepared.hairpins,
        })
      : lbScript({
          createTable: !record.table,
          addSelectors: selectors.added,
          rewriteSelectors: selectors.updated.map((u) => u.to),
          removeFrontends: [...frontends.removed, ...frontends.updated.map((u) => u.entry)].map(removalOf),
          addFrontends: [...frontends.added, ...frontends.updated.map((u) => u.to)],
          removeSelectors: selectors.removed.map((e) => e.object as LbSelectorObject),
          addHairpins: hairpins.added,
          removeHairpins: hairpins.removed.map((e) => e.object as LbHairpinObject),
        });
    if (script) await this.tools.nftApply(script);

    if (rewriteTable) {
      this.record = recordOf({ table, selectors: selectorsWanted, frontends: [], hairpins: [...prepared.hairpins] });
      for (const f of frontendsNow()) this.record.frontends.set(keyOf(f), entryOf(f));
    } else {
      record.table = table;
      for (const e of frontends.removed) record.frontends.delete(keyOf(e.object));
      for (const f of [...frontends.added, ...frontends.updated.map((u) => u.to)]) record.frontends.set(keyOf(f), entryOf(f));
      for (const [group, change] of [
        [record.selectors, selectors],
        [record.hairpins, hairpins],
      ] as const) {
        for (const e of change.removed) group.delete(keyOf(e.object));
        for (const o of [...change.added, ...change.updated.map((u) => u.to)]) group.set(keyOf(o), entryOf(o));
      }
    }
    if (delta) this.advanceIndex(delta.added, delta.removed, uses);
    else this.index = rebuilt;
    return { added, updated, removed: removedEntries.map((e) => e.object), kept, problems: [] };
  }

  /** Every frontend of every spec against the record (after a read, or when the index is gone). */
  private frontendDiff(services: readonly ServiceSpec[]): FrontendChange {
    const have = this.record!.frontends;
    const change: FrontendChange = { added: [], updated: [], removed: [], kept: 0 };
    const wanted = new Set<string>();
    let kept = 0;
    for (const spec of services) {
      for (const f of serviceFrontends(spec)) {
        const key = keyOf(f);
        wanted.add(key);
        const entry = have.get(key);
        if (!entry) change.added.push(f);
        else if (entry.description === descriptionOf(f)) kept++;
        else change.updated.push({ entry, to: f });
      }
    }
    for (const [key, entry] of have) if (!wanted.has(key)) change.removed.push(entry);
    return { ...change, kept };
  }

  /** Only the frontends of specs that came or went; everything else is as recorded. */
  private frontendDelta(addedSpecs: readonly ServiceSpec[], removedSpecs: readonly ServiceSpec[]): FrontendChange {
    const have = this.record!.frontends;
    const leaving = new Map<string, Entry>();
    for (const spec of removedSpecs) {
      for (const f of serviceFrontends(spec)) {
        const entry = have.get(keyOf(f));
        if (entry) leaving.set(keyOf(f), entry);
      }
    }
    const added: LbFrontendObject[] = [];
    const updated: { entry: Entry; to: LbFrontendObject }[] = [];
    for (const spec of addedSpecs) {
      for (const f of serviceFrontends(spec)) {
        const key = keyOf(f);
        leaving.delete(key);
        const entry = have.get(key);
        if (!entry) added.push(f);
        else if (entry.description !== descriptionOf(f)) updated.push({ entry, to: f });
      }
    }
    const removed = [...leaving.values()];
    return { added, updated, removed, kept: have.size - updated.length - removed.length };
  }

  private advanceIndex(addedSpecs: readonly ServiceSpec[], removedSpecs: readonly ServiceSpec[], selectorUses: SelectorUses): void {
    const index = this.index!;
    index.selectorUses = selectorUses;
    for (const spec of removedSpecs) {
      index.specs.delete(spec);
      if (index.ids.get(spec.id) === spec) index.ids.delete(spec.id);
      for (const { key } of serviceFrontendKeys(spec)) if (index.owners.get(key) === spec) index.owners.delete(key);
    }
    for (const spec of addedSpecs) {
      index.specs.add(spec);
      index.ids.set(spec.id, spec);
      for (const { key } of serviceFrontendKeys(spec)) index.owners.set(key, spec);
    }
  }
}
