/**
 * Addresses every node can compute for every other node from its node record alone (node IP and
 * pod CIDR, the fields Cilium's node record carries), so peers need no extra field to reach it.
 */
import { formatIpv4, tryParseCidr, type Cidr } from "../util/ipv4.js";

/** Smallest pod CIDR that still has a router IP and room for pods (network, router, pods, broadcast). */
export const MAX_POD_CIDR_PREFIX = 30;

function requirePodCidr(podCIDR: string): Cidr {
  const cidr = tryParseCidr(podCIDR);
  if (!cidr) throw new RangeError(`pod CIDR "${podCIDR}" is not an IPv4 network in a.b.c.d/len form with the host bits zero`);
  if (cidr.prefixLength > MAX_POD_CIDR_PREFIX) {
    throw new RangeError(`pod CIDR "${podCIDR}" is too small: the prefix length must be at most /${MAX_POD_CIDR_PREFIX}`);
  }
  return cidr;
}

/**
 * The node's router IP: the first host address of its pod CIDR. Pods use it as their gateway,
 * and peers use it as the next hop of the node's pod CIDR over the tunnel.
 */
export function routerIP(podCIDR: string): string {
  return formatIpv4(requirePodCidr(podCIDR).network + 1);
}

/**
 * Prefix of every tunnel MAC: 0x0e sets the locally-administered bit and clears the multicast
 * bit; 0x74 ("t") marks the address as Trellis's when it shows up in `bridge fdb` output.
 */
const TUNNEL_MAC_PREFIX = [0x0e, 0x74] as const;

/**
 * The node's VXLAN device MAC, derived from its router IP: 0e:74 followed by the router IP's four
 * octets (100.65.3.1 → 0e:74:64:41:03:01). Pod CIDRs never overlap in a mesh, so neither do
 * these MACs, and an operator reading an FDB dump can tell which node an entry is for.
 */
export function tunnelMac(podCIDR: string): string {
  const router = requirePodCidr(podCIDR).network + 1;
  const octets = [...TUNNEL_MAC_PREFIX, router >>> 24, (router >>> 16) & 255, (router >>> 8) & 255, router & 255];
  return octets.map((o) => o.toString(16).padStart(2, "0")).join(":");
}
