import { sortObjects } from "../objects.js";
import type { DatapathObject, DesiredNodeState } from "../types.js";
import { endpointRoute, ipForwarding, routerAddress } from "./local-routes.js";
import { nativePeerRoute } from "./native.js";
import { planServices } from "./nftables/plan.js";
import { peerTunnelObjects, tunnelLink } from "./tunnel.js";

/**
 * Every kernel object the desired state calls for, given the underlay MTU (read from the uplink
 * unless the desired state overrides it). Pure, so the recording fake reports exactly what the
 * Linux datapath would install.
 */
export function planNode(desired: DesiredNodeState, uplinkMtu: number): DatapathObject[] {
  return sortObjects([...planNetwork(desired, uplinkMtu), ...planServices(desired)]);
}

/** The iproute2 part of the plan (sysctl, addresses, tunnel, routes), unsorted. */
export function planNetwork(desired: DesiredNodeState, uplinkMtu: number): DatapathObject[] {
  const { local } = desired;
  const objects: DatapathObject[] = [ipForwarding(), routerAddress(local)];
  if (desired.mode === "tunnel") {
    objects.push(tunnelLink(local, local.underlayMtu ?? uplinkMtu));
    for (const peer of desired.peers) {
      const p = peerTunnelObjects(peer);
      objects.push(p.fdb, p.neigh, p.route);
    }
  } else {
    for (const peer of desired.peers) objects.push(nativePeerRoute(local, peer));
  }
  for (const endpoint of desired.endpoints) objects.push(endpointRoute(endpoint));
  return objects;
}
