/**
 * Tunnel mode: one VXLAN device per node and, per peer, the flannel scheme (FACTS.md):
 *
 *   route <peer pod CIDR> via <peer router IP> dev trellis_vxlan onlink
 *   neigh <peer router IP> lladdr <peer tunnel MAC> dev trellis_vxlan nud permanent
 *   fdb   <peer tunnel MAC> dev trellis_vxlan dst <peer node IP>
 *
 * The route picks the next hop, the neighbour entry gives it a MAC without ARP, and the FDB
 * entry says which underlay address frames for that MAC are sent to. Peer MACs and router IPs
 * are derived from the peer's pod CIDR (node-addressing.ts), so the node record is enough.
 * `onlink` is needed because the peer's router IP is in no subnet of this node; the kernel
 * refuses a gatewayless route on a VXLAN device ("PERVASIVE and ONLINK").
 */
import { VXLAN_OVERHEAD } from "../mtu.js";
import { routerIP, tunnelMac } from "../node-addressing.js";
import type { FdbObject, LinkObject, LocalNode, NeighObject, PeerNode, RouteObject } from "../types.js";
import type { BatchLine } from "./commands.js";
import { TUNNEL_DEVICE, TUNNEL_PORT, TUNNEL_VNI } from "./ownership.js";

export function tunnelLink(local: LocalNode, underlayMtu: number): LinkObject {
  return {
    kind: "link",
    name: TUNNEL_DEVICE,
    vni: TUNNEL_VNI,
    port: TUNNEL_PORT,
    local: local.nodeIP,
    dev: local.uplink,
    mtu: underlayMtu - VXLAN_OVERHEAD,
    mac: tunnelMac(local.podCIDR),
    // Learning would let any packet on UDP 8472 rewrite where a MAC lives; entries come from the
    // node records only.
    learning: false,
    up: true,
  };
}

export interface PeerTunnelObjects {
  readonly fdb: FdbObject;
  readonly neigh: NeighObject;
  readonly route: RouteObject;
}

export function peerTunnelObjects(peer: PeerNode): PeerTunnelObjects {
  const gateway = routerIP(peer.podCIDR);
  const mac = tunnelMac(peer.podCIDR);
  return {
    fdb: { kind: "fdb", mac, dev: TUNNEL_DEVICE, dst: peer.nodeIP },
    neigh: { kind: "neigh", ip: gateway, mac, dev: TUNNEL_DEVICE },
    route: { kind: "route", dst: peer.podCIDR, gateway, dev: TUNNEL_DEVICE, onlink: true },
  };
}

/** One entry of `ip -d -j link show`. */
export interface LinkJson {
  ifname: string;
  flags?: string[];
  mtu?: number;
  address?: string;
  linkinfo?: {
    info_kind?: string;
    info_data?: { id?: number; local?: string; link?: string; port?: number; learning?: boolean };
  };
}

/**
 * The tunnel device as found. A device of that name that is not VXLAN still comes back (with
 * attributes that match nothing), so the reconciler replaces it.
 */
export function parseTunnelLink(links: readonly LinkJson[]): LinkObject | undefined {
  const l = links.find((x) => x.ifname === TUNNEL_DEVICE);
  if (!l) return undefined;
  const vxlan = l.linkinfo?.info_kind === "vxlan" ? (l.linkinfo.info_data ?? {}) : undefined;
  return {
    kind: "link",
    name: TUNNEL_DEVICE,
    vni: vxlan?.id ?? -1,
    port: vxlan?.port ?? -1,
    local: vxlan?.local ?? "",
    dev: vxlan?.link ?? "",
    mtu: l.mtu ?? 0,
    mac: l.address ?? "",
    learning: vxlan?.learning ?? true,
    up: l.flags?.includes("UP") ?? false,
  };
}

/**
 * Only MTU and admin state change in place; anything else means deleting and re-creating the
 * device (the kernel refuses to change a VXLAN device's id, port or local address), which also
 * drops every FDB entry, neighbour and route on it.
 */
export function tunnelNeedsRecreate(from: LinkObject, to: LinkObject): boolean {
  return from.vni !== to.vni || from.port !== to.port || from.local !== to.local || from.dev !== to.dev || from.mac !== to.mac || from.learning !== to.learning;
}

export function linkCreateLines<T>(link: LinkObject, tag: T): BatchLine<T>[] {
  return [
    {
      command:
        `link add ${link.name} address ${link.mac} mtu ${link.mtu} type vxlan id ${link.vni} dstport ${link.port}` +
        ` local ${link.local} dev ${link.dev} ${link.learning ? "learning" : "nolearning"}`,
      tag,
    },
    { command: `link set dev ${link.name} up`, tag },
  ];
}

export function linkUpdateLines<T>(from: LinkObject, to: LinkObject, tag: T): BatchLine<T>[] {
  const lines: BatchLine<T>[] = [];
  if (from.mtu !== to.mtu) lines.push({ command: `link set dev ${to.name} mtu ${to.mtu}`, tag });
  if (from.up !== to.up) lines.push({ command: `link set dev ${to.name} ${to.up ? "up" : "down"}`, tag });
  return lines;
}

export function linkDeleteLine<T>(link: LinkObject, tag: T): BatchLine<T> {
  return { command: `link del dev ${link.name}`, tag };
}

/** One entry of `bridge -j fdb show dev trellis_vxlan`. */
export interface FdbJson {
  mac?: string;
  dst?: string;
}

/** Remote entries only; an entry without `dst` is the kernel's own, not a tunnel endpoint. */
export function parseFdb(json: readonly FdbJson[]): FdbObject[] {
  return json.filter((e) => e.mac && e.dst).map((e) => ({ kind: "fdb", mac: e.mac!, dev: TUNNEL_DEVICE, dst: e.dst! }));
}

/** `append` adds one remote to a MAC and is a no-op when that remote is already there. */
export function fdbLine<T>(op: "add" | "remove", f: FdbObject, tag: T): BatchLine<T> {
  return op === "add"
    ? { command: `fdb append ${f.mac} dev ${f.dev} dst ${f.dst} self permanent`, tag }
    : { command: `fdb del ${f.mac} dev ${f.dev} dst ${f.dst} self`, tag };
}

/** One entry of `ip -j neigh show dev trellis_vxlan`. */
export interface NeighJson {
  dst?: string;
  lladdr?: string;
  state?: string[];
}

/** Permanent entries only: the others are the kernel's own resolution attempts. */
export function parseNeigh(json: readonly NeighJson[]): NeighObject[] {
  return json
    .filter((e) => e.dst && e.lladdr && e.state?.includes("PERMANENT"))
    .map((e) => ({ kind: "neigh", ip: e.dst!, mac: e.lladdr!, dev: TUNNEL_DEVICE }));
}

export function neighLine<T>(op: "add" | "remove", n: NeighObject, tag: T): BatchLine<T> {
  return op === "add"
    ? { command: `neigh replace ${n.ip} lladdr ${n.mac} dev ${n.dev} nud permanent`, tag }
    : { command: `neigh del ${n.ip} dev ${n.dev}`, tag };
}
