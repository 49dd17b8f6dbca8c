import type { AddressObject, DatapathObject, FdbObject, LinkObject, NeighObject, RouteObject, SysctlObject } from "../types.js";
import type { KernelTools } from "./commands.js";
import { parseRouterAddresses, type AddrJson } from "./local-routes.js";
import { IP_FORWARD_SYSCTL, ROUTER_IP_DEVICE, TUNNEL_DEVICE } from "./ownership.js";
import { parseMainTable, type RouteJson } from "./routes.js";
import { parseFdb, parseNeigh, parseTunnelLink, type FdbJson, type LinkJson, type NeighJson } from "./tunnel.js";

export interface LinkFacts {
  readonly mtu: number;
  readonly up: boolean;
}

/** What the node has now: Trellis's objects, plus the facts about others' state a plan needs. */
export interface ActualNodeState {
  readonly sysctl: SysctlObject;
  readonly addresses: AddressObject[];
  readonly tunnel?: LinkObject;
  readonly fdb: FdbObject[];
  readonly neigh: NeighObject[];
  readonly routes: RouteObject[];
  /** Every interface by name. */
  readonly links: ReadonlyMap<string, LinkFacts>;
  /** Non-Trellis routes at metric 0 in the main table, by destination. */
  readonly foreignRoutes: ReadonlyMap<string, string>;
}

/**
 * Reads from dumps, all at once: `ip monitor` prints text on this iproute2, so the kernel is
 * re-read on every reconcile instead of being followed by events.
 */
export async function readActualState(tools: KernelTools): Promise<ActualNodeState> {
  const [links, routes, loAddrs, fdb, neigh, forwarding] = await Promise.all([
    tools.ipJson<LinkJson>(["-d", "link", "show"]),
    tools.ipJson<RouteJson>(["-N", "route", "show", "table", "main"]),
    tools.ipJson<AddrJson>(["address", "show", "dev", ROUTER_IP_DEVICE]),
    tools.bridgeJson<FdbJson>(["fdb", "show", "dev", TUNNEL_DEVICE], { missingDevice: "empty" }),
    tools.ipJson<NeighJson>(["neigh", "show", "dev", TUNNEL_DEVICE], { missingDevice: "empty" }),
    tools.readSysctl(IP_FORWARD_SYSCTL),
  ]);
  const tunnel = parseTunnelLink(links);
  const main = parseMainTable(routes);
  return {
    sysctl: { kind: "sysctl", name: IP_FORWARD_SYSCTL, value: forwarding },
    addresses: parseRouterAddresses(loAddrs),
    ...(tunnel ? { tunnel } : {}),
    // Read in parallel with the link dump: if the device vanished in between, its entries did too.
    fdb: tunnel ? parseFdb(fdb) : [],
    neigh: tunnel ? parseNeigh(neigh) : [],
    routes: main.ours,
    links: new Map(links.map((l) => [l.ifname, { mtu: l.mtu ?? 0, up: l.flags?.includes("UP") ?? false }])),
    foreignRoutes: main.foreign,
  };
}

/** Every object of Trellis's on the node, the ip_forward setting included. */
export function trellisObjects(actual: ActualNodeState): DatapathObject[] {
  return [actual.sysctl, ...actual.addresses, ...(actual.tunnel ? [actual.tunnel] : []), ...actual.fdb, ...actual.neigh, ...actual.routes];
}
