import type { DatapathMode } from "./types.js";

/** Bytes VXLAN adds to every packet: outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14). */
export const VXLAN_OVERHEAD = 50;

/** The smallest MTU IPv4 allows on a link (RFC 791). */
export const MIN_IPV4_MTU = 68;

/** MTU of pod interfaces and of the tunnel device for a given underlay MTU. */
export function podMtu(mode: DatapathMode, underlayMtu: number): number {
  return mode === "tunnel" ? underlayMtu - VXLAN_OVERHEAD : underlayMtu;
}
