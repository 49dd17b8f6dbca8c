import { DatapathEnvironmentError, DatapathInputError } from "../errors.js";
import { MIN_IPV4_MTU, VXLAN_OVERHEAD } from "../mtu.js";
import { describeObject, diffObjects } from "../objects.js";
import { buildReport } from "../report.js";
import type { DatapathObject, DatapathProblem, DesiredNodeState, LinkObject, ObjectUpdate, ReconcileReport, TeardownReport } from "../types.js";
import { networkStateIssues } from "../validate.js";
import { readActualState, trellisObjects } from "./actual-state.js";
import type { BatchFailure, BatchLine, KernelTools } from "./commands.js";
import { addressLine } from "./local-routes.js";
import type { ServiceTable } from "./nftables/service-table.js";
import { ROUTER_IP_DEVICE, TUNNEL_DEVICE } from "./ownership.js";
import { planNetwork } from "./plan.js";
import { routeLine } from "./routes.js";
import { fdbLine, linkCreateLines, linkDeleteLine, linkUpdateLines, neighLine, tunnelNeedsRecreate } from "./tunnel.js";

type Op =
  | { readonly op: "add" | "remove"; readonly object: DatapathObject }
  | { readonly op: "update"; readonly from: DatapathObject; readonly to: DatapathObject };

/** Tag of the one batch line that changes no object of Trellis's own (bringing `lo` up). */
const PREPARE = { op: "prepare" } as const;
type Tag = Op | typeof PREPARE;

const objectOf = (op: Op): DatapathObject => (op.op === "update" ? op.to : op.object);

interface ChangeSet {
  add: DatapathObject[];
  update: ObjectUpdate[];
  remove: DatapathObject[];
  /** Removed by the kernel along with the tunnel device: reported, but no command of their own. */
  implicitRemove: DatapathObject[];
  /** The tunnel device is deleted and created again (an attribute that cannot change in place). */
  recreateTunnel?: ObjectUpdate;
  /** `lo` is down: local addresses, the router IP included, are unreachable until it is up. */
  bringUpLoopback: boolean;
}

export interface ApplyResult {
  readonly added: DatapathObject[];
  readonly updated: ObjectUpdate[];
  readonly removed: DatapathObject[];
  readonly problems: DatapathProblem[];
}

/** Entries the kernel deletes by itself when the tunnel device goes. */
function onTunnel(o: DatapathObject): boolean {
  return o.kind === "fdb" || o.kind === "neigh" || (o.kind === "route" && o.dev === TUNNEL_DEVICE);
}

/**
 * Makes the node match `desired`: read everything, plan, diff, and apply the difference in a few
 * batches ordered so traffic keeps flowing — new next hops (device, FDB, neighbours) before the
 * routes that use them, routes replaced in place before anything old is deleted. Services come
 * last, through their own stage (nftables/service-table.ts), in one nft transaction.
 */
export async function reconcileNode(tools: KernelTools, services: ServiceTable, desired: DesiredNodeState): Promise<ReconcileReport> {
  const startedAt = performance.now();
  const issues = networkStateIssues(desired);
  const prepared = desired !== null && typeof desired === "object" ? services.prepare(desired) : undefined;
  issues.push(...(prepared?.issues ?? []));
  if (issues.length || !prepared) throw new DatapathInputError(issues);
  const actual = await readActualState(tools);
  const { local } = desired;
  const uplink = actual.links.get(local.uplink);
  if (!uplink) {
    throw new DatapathEnvironmentError(
      `uplink interface "${local.uplink}" of node "${local.name}" does not exist in ${where(tools)}; ` +
        `set the node's uplink to the interface that carries its node IP ${local.nodeIP}`,
    );
  }
  const underlayMtu = local.underlayMtu ?? uplink.mtu;
  if (desired.mode === "tunnel" && underlayMtu - VXLAN_OVERHEAD < MIN_IPV4_MTU) {
    throw new DatapathEnvironmentError(
      `underlay MTU ${underlayMtu} of uplink "${local.uplink}" leaves ${underlayMtu - VXLAN_OVERHEAD} for the tunnel, ` +
        `less than IPv4's minimum of ${MIN_IPV4_MTU}; raise the uplink's MTU or use native mode`,
    );
  }

  const problems: DatapathProblem[] = [];
  const planned = planNetwork(desired, uplink.mtu).filter((o) => {
    if (o.kind !== "route") return true;
    if (o.dev !== TUNNEL_DEVICE && !actual.links.has(o.dev)) {
      problems.push({ object: o, message: `interface "${o.dev}" for ${o.dst} does not exist in ${where(tools)}; the route goes in once it does` });
      return false;
    }
    const foreign = actual.foreignRoutes.get(o.dst);
    if (foreign) {
      problems.push({
        object: o,
        message: `the main table already has a route to ${o.dst} that Trellis did not make (${foreign}); Trellis leaves it alone, so remove it to let the datapath route ${o.dst}`,
      });
      return false;
    }
    return true;
  });

  const owned = trellisObjects(actual);
  let diff = diffObjects(planned, owned);
  const tunnelUpdate = diff.update.find((u) => u.to.kind === "link");
  const recreate = tunnelUpdate && tunnelNeedsRecreate(tunnelUpdate.from as LinkObject, tunnelUpdate.to as LinkObject) ? tunnelUpdate : undefined;
  const tunnelRemoved = diff.remove.some((o) => o.kind === "link");
  let implicitRemove: DatapathObject[] = [];
  if (recreate) {
    // Everything on the old device goes with it; whatever is still wanted is added again.
    const survivors = owned.filter((o) => !onTunnel(o));
    diff = diffObjects(planned, survivors);
    const readded = new Set(planned.map(describeObject));
    implicitRemove = owned.filter((o) => onTunnel(o) && !readded.has(describeObject(o)));
  } else if (tunnelRemoved) {
    implicitRemove = diff.remove.filter(onTunnel);
    diff = { ...diff, remove: diff.remove.filter((o) => !onTunnel(o)) };
  }

  const changes: ChangeSet = {
    add: diff.add,
    update: diff.update,
    remove: diff.remove,
    implicitRemove,
    ...(recreate ? { recreateTunnel: recreate } : {}),
    bringUpLoopback: actual.links.get(ROUTER_IP_DEVICE)?.up === false,
  };
  const result = await applyChanges(tools, changes);
  const lb = await services.reconcile(prepared);
  return buildReport({
    added: [...result.added, ...lb.added],
    updated: [...result.updated, ...lb.updated],
    removed: [...result.removed, ...lb.removed],
    kept: diff.keep,
    keptCounts: lb.kept,
    problems: [...problems, ...result.problems, ...lb.problems],
    startedAt,
  });
}

/** Removes everything Trellis made on the node; sysctls stay (see Datapath.teardown). */
export async function teardownNode(tools: KernelTools, services: ServiceTable): Promise<TeardownReport> {
  const startedAt = performance.now();
  const actual = await readActualState(tools);
  const owned = trellisObjects(actual).filter((o) => o.kind !== "sysctl");
  const tunnelGoes = actual.tunnel !== undefined;
  const result = await applyChanges(tools, {
    add: [],
    update: [],
    remove: owned.filter((o) => !(tunnelGoes && onTunnel(o))),
    implicitRemove: tunnelGoes ? owned.filter(onTunnel) : [],
    bringUpLoopback: false,
  });
  if (result.problems.length) {
    throw new DatapathEnvironmentError(`teardown left objects behind: ${result.problems.map((p) => p.message).join("; ")}`);
  }
  const lb = await services.teardown();
  return { removed: [...result.removed, ...lb], durationMs: performance.now() - startedAt };
}

/** Errors of a delete that mean the object is already gone. */
const ALREADY_GONE = /No such process|No such file or directory|Cannot find device|Cannot assign requested address/;

async function applyChanges(tools: KernelTools, changes: ChangeSet): Promise<ApplyResult> {
  const failed = new Map<Tag, string>();
  const record = (failures: BatchFailure<Tag>[]) => {
    for (const f of failures) {
      if (f.tag.op === "remove" && ALREADY_GONE.test(f.message)) continue;
      if (!failed.has(f.tag)) failed.set(f.tag, `${f.command}: ${f.message}`);
    }
  };
  const adds: Op[] = changes.add.map((object) => ({ op: "add", object }));
  const updates: Op[] = changes.update.map((u) => ({ op: "update", from: u.from, to: u.to }));
  const removes: Op[] = changes.remove.map((object) => ({ op: "remove", object }));
  const ofKind = (list: Op[], kind: DatapathObject["kind"]) => list.filter((op) => objectOf(op).kind === kind);
  const writes = (kind: DatapathObject["kind"]) => [...ofKind(adds, kind), ...ofKind(updates, kind)];

  // 1. Forwarding, the router IP, the tunnel device.
  for (const op of writes("sysctl")) {
    const s = objectOf(op);
    if (s.kind !== "sysctl") continue;
    try {
      await tools.writeSysctl(s.name, s.value);
    } catch (e) {
      failed.set(op, (e as Error).message);
    }
  }
  const first: BatchLine<Tag>[] = [];
  if (changes.bringUpLoopback) first.push({ command: `link set dev ${ROUTER_IP_DEVICE} up`, tag: PREPARE });
  first.push(...writes("address").map((op) => lineFor("add", objectOf(op), op)));
  for (const op of ofKind(adds, "link")) first.push(...linkCreateLines(objectOf(op) as LinkObject, op));
  for (const op of ofKind(updates, "link")) {
    if (op.op !== "update") continue;
    const [from, to] = [op.from as LinkObject, op.to as LinkObject];
    if (changes.recreateTunnel?.to === op.to) first.push(linkDeleteLine(from, op), ...linkCreateLines(to, op));
    else first.push(...linkUpdateLines(from, to, op));
  }
  record(await tools.ipBatch(first));

  // 2. FDB entries, then the neighbours and routes that rely on them; routes replace in place.
  record(await tools.bridgeBatch(writes("fdb").map((op) => lineFor("add", objectOf(op), op))));
  record(
    await tools.ipBatch([
      ...[...writes("neigh"), ...writes("route")].map((op) => lineFor("add", objectOf(op), op)),
      // 3. What is no longer wanted, users before what they use.
      ...[...ofKind(removes, "route"), ...ofKind(removes, "neigh"), ...ofKind(removes, "address")].map((op) => lineFor("remove", objectOf(op), op)),
    ]),
  );
  record(await tools.bridgeBatch(ofKind(removes, "fdb").map((op) => lineFor("remove", objectOf(op), op))));
  record(await tools.ipBatch(ofKind(removes, "link").map((op) => linkDeleteLine(objectOf(op) as LinkObject, op))));

  const problems: DatapathProblem[] = [];
  const prepareFailure = failed.get(PREPARE);
  if (prepareFailure) problems.push({ message: `could not bring up ${ROUTER_IP_DEVICE}: ${prepareFailure}` });
  const succeeded = (list: Op[]) =>
    list.filter((op) => {
      const why = failed.get(op);
      if (why !== undefined) problems.push({ object: objectOf(op), message: `could not ${op.op} ${describeObject(objectOf(op))}: ${why}` });
      return why === undefined;
    });
  const added = succeeded(adds).map(objectOf);
  const updated = succeeded(updates).flatMap((op) => (op.op === "update" ? [{ from: op.from, to: op.to }] : []));
  const removed = succeeded(removes).map(objectOf);
  const tunnelGone =
    removed.some((o) => o.kind === "link") || (changes.recreateTunnel !== undefined && updated.some((u) => u.to === changes.recreateTunnel?.to));
  return { added, updated, removed: [...removed, ...(tunnelGone ? changes.implicitRemove : [])], problems };
}

function lineFor(op: "add" | "remove", o: DatapathObject, tag: Tag): BatchLine<Tag> {
  switch (o.kind) {
    case "address":
      return addressLine(op, o, tag);
    case "fdb":
      return fdbLine(op, o, tag);
    case "neigh":
      return neighLine(op, o, tag);
    case "route":
      return routeLine(op, o, tag);
    case "link":
    case "sysctl":
    case "lb-table":
    case "lb-selector":
    case "lb-frontend":
    case "lb-hairpin":
      throw new Error(`no batch line for ${o.kind} objects`);
  }
}

function where(tools: KernelTools): string {
  return tools.netns ? `network namespace "${tools.netns}"` : "this network namespace";
}
