/**
 * Addresses every node can compute for every other node from its node record alone (node IP and
 * pod CIDR, the fields Cilium's node record carries), so peers need no extra field to reach it.
 */

export interface Ipv4Cidr {
  /** Network address as an unsigned 32-bit number. */
  readonly network: number;
  readonly prefixLength: number;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parses dotted-quad IPv4; undefined when `text` is not one (no leading zeros, each octet ≤ 255). */
export function parseIpv4(text: string): number | undefined {
  const m = IPV4.exec(text);
  if (!m) return undefined;
  let value = 0;
  for (const part of m.slice(1)) {
    if (part.length > 1 && part.startsWith("0")) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join(".");
}

/** Parses "a.b.c.d/len" whose host bits are zero; undefined otherwise. */
export function parseIpv4Cidr(text: string): Ipv4Cidr | undefined {
  const slash = text.indexOf("/");
  if (slash < 0) return undefined;
  const address = parseIpv4(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (address === undefined || !/^\d{1,2}$/.test(lenText)) return undefined;
  const prefixLength = Number(lenText);
  if (prefixLength > 32) return undefined;
  if ((address & hostMask(prefixLength)) !== 0) return undefined;
  return { network: address, prefixLength };
}

function hostMask(prefixLength: number): number {
  return prefixLength === 0 ? 0xffffffff : (2 ** (32 - prefixLength) - 1) >>> 0;
}

export function cidrContains(cidr: Ipv4Cidr, address: number): boolean {
  return address >= cidr.network && address <= lastAddress(cidr);
}

export function cidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  return a.network <= lastAddress(b) && b.network <= lastAddress(a);
}

export function lastAddress(cidr: Ipv4Cidr): number {
  return (cidr.network + hostMask(cidr.prefixLength)) >>> 0;
}

/** Smallest pod CIDR that still has a router IP and room for pods (network, router, pods, broadcast). */
export const MAX_POD_CIDR_PREFIX = 30;

function requirePodCidr(podCIDR: string): Ipv4Cidr {
  const cidr = parseIpv4Cidr(podCIDR);
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
