/**
 * Native mode: pod traffic crosses the underlay unencapsulated, so every node routes each peer's
 * pod CIDR straight to that peer's node IP. This needs the nodes to share a layer-2 segment (the
 * gateway must be directly reachable on the uplink); a peer that is not is reported as a problem
 * of its route, and the rest still go in.
 */
import type { LocalNode, PeerNode, RouteObject } from "../types.js";

export function nativePeerRoute(local: LocalNode, peer: PeerNode): RouteObject {
  return { kind: "route", dst: peer.podCIDR, gateway: peer.nodeIP, dev: local.uplink };
}
