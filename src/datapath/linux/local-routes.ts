/**
 * The node side of the pod addressing contract (docs/agent-api.md): pods send everything to the
 * router IP, so the node must answer ARP for it on every pod's host veth, forward, and route each
 * pod's /32 to its veth.
 *
 * Why the router IP sits on `lo` (as a /32) rather than proxy ARP on each host veth: Linux
 * answers ARP on any interface for any address that is local to the namespace (arp_ignore=0, the
 * default), so one address on `lo` covers every veth, including veths created after the last
 * reconcile, with no per-interface sysctl to set, lose when a veth is recreated, or clean up.
 * Proxy ARP would also answer for every routable address, hiding misaddressed pods. A /32
 * adds no connected route, so nothing else on the node routes differently because of it. In
 * tunnel mode it is also the source address the node picks towards remote pods (the tunnel
 * device has no address), so their replies come back through the tunnel.
 */
import { routerIP } from "../node-addressing.js";
import type { AddressObject, LocalEndpoint, LocalNode, RouteObject, SysctlObject } from "../types.js";
import type { BatchLine } from "./commands.js";
import { IP_FORWARD_SYSCTL, ROUTER_IP_DEVICE, ROUTER_IP_LABEL } from "./ownership.js";

export function ipForwarding(): SysctlObject {
  return { kind: "sysctl", name: IP_FORWARD_SYSCTL, value: "1" };
}

export function routerAddress(local: LocalNode): AddressObject {
  return { kind: "address", ip: routerIP(local.podCIDR), prefixLength: 32, dev: ROUTER_IP_DEVICE };
}

export function endpointRoute(endpoint: LocalEndpoint): RouteObject {
  return { kind: "route", dst: `${endpoint.ip}/32`, dev: endpoint.hostIfName };
}

/** One entry of `ip -j address show`. */
export interface AddrJson {
  ifname?: string;
  addr_info?: { family?: string; local?: string; prefixlen?: number; label?: string }[];
}

/** Trellis's addresses in `ip -j addr show dev lo` output: those with Trellis's label. */
export function parseRouterAddresses(json: readonly AddrJson[]): AddressObject[] {
  return json.flatMap((link) =>
    (link.addr_info ?? [])
      .filter((a) => a.family === "inet" && a.label === ROUTER_IP_LABEL && a.local)
      .map((a): AddressObject => ({ kind: "address", ip: a.local!, prefixLength: a.prefixlen ?? 32, dev: link.ifname ?? ROUTER_IP_DEVICE })),
  );
}

export function addressLine<T>(op: "add" | "remove", a: AddressObject, tag: T): BatchLine<T> {
  const command =
    op === "add"
      ? `address replace ${a.ip}/${a.prefixLength} dev ${a.dev} label ${ROUTER_IP_LABEL}`
      : `address del ${a.ip}/${a.prefixLength} dev ${a.dev}`;
  return { command, tag };
}
