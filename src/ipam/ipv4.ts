/**
 * IPv4 addresses as unsigned 32-bit numbers, so that ranges are arithmetic. Parsing is strict
 * (no leading zeros, no shorthand like "10.1"): an address typed wrong must be refused, never
 * silently read as a different one.
 */

const OCTET = /^(0|[1-9][0-9]{0,2})$/;

/** Parses dotted-quad text; throws a RangeError naming the text when it is not an IPv4 address. */
export function parseIpv4(text: string): number {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p) && Number(p) <= 255)) {
    throw new RangeError(`"${text}" is not an IPv4 address (expected four numbers 0-255 separated by dots, e.g. 100.64.1.5)`);
  }
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function isIpv4(text: string): boolean {
  try {
    parseIpv4(text);
    return true;
  } catch {
    return false;
  }
}

export function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join(".");
}

/** An IPv4 network in CIDR notation, normalised: `network` has no host bits set. */
export interface Ipv4Cidr {
  /** The canonical text, e.g. "100.65.1.0/24". */
  readonly text: string;
  readonly network: number;
  readonly prefixLength: number;
  /** Number of addresses in the block, network and broadcast included. */
  readonly size: number;
  readonly broadcast: number;
}

/**
 * Parses "a.b.c.d/n". Host bits must be zero: "100.65.1.7/24" is refused rather than rounded,
 * because it usually means a node IP was pasted where a pod CIDR belongs.
 */
export function parseIpv4Cidr(text: string): Ipv4Cidr {
  const slash = text.indexOf("/");
  const prefixText = slash < 0 ? "" : text.slice(slash + 1);
  if (slash < 0 || !/^(0|[1-9][0-9]?)$/.test(prefixText) || Number(prefixText) > 32) {
    throw new RangeError(`"${text}" is not an IPv4 CIDR (expected address/prefix-length with a prefix of 0-32, e.g. 100.65.1.0/24)`);
  }
  let address: number;
  try {
    address = parseIpv4(text.slice(0, slash));
  } catch (e) {
    throw new RangeError(`"${text}" is not an IPv4 CIDR: ${(e as Error).message}`);
  }
  const prefixLength = Number(prefixText);
  const size = 2 ** (32 - prefixLength);
  const network = address - (address % size);
  if (network !== address) {
    throw new RangeError(`"${text}" has host bits set; the network is ${formatIpv4(network)}/${prefixLength}`);
  }
  return { text: `${formatIpv4(network)}/${prefixLength}`, network, prefixLength, size, broadcast: network + size - 1 };
}

export function cidrContains(cidr: Ipv4Cidr, ip: number): boolean {
  return ip >= cidr.network && ip <= cidr.broadcast;
}
