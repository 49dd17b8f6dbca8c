/**
 * IPv4 addresses as unsigned 32-bit numbers, so that ranges are arithmetic, and CIDR blocks: parse,
 * contain, overlap, cut a pool into subnets. Parsing is strict (four decimal octets, no leading
 * zeros, no shorthand like "10.1", no spaces): an address typed wrong must be refused, never
 * silently read as a different one, and iproute2 would read "010.1.1.1" differently than we do.
 *
 * Every parse comes in two forms: `tryParse…` answers undefined, for validators that collect
 * problems in their own words; `parse…` throws an Ipv4Error naming the text that was given.
 */
export class Ipv4Error extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "Ipv4Error";
  }
}

const OCTET = /^(0|[1-9]\d{0,2})$/;
const PREFIX_LENGTH = /^(0|[1-9]\d?)$/;

export function tryParseIpv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const p of parts) {
    if (!OCTET.test(p)) return undefined;
    const octet = Number(p);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

/** Parses dotted-quad text; throws an Ipv4Error naming the text when it is not an IPv4 address. */
export function parseIpv4(text: string): number {
  const value = tryParseIpv4(text);
  if (value === undefined) {
    throw new Ipv4Error(`"${text}" is not an IPv4 address (expected four numbers 0-255 separated by dots, e.g. 100.64.1.5)`);
  }
  return value;
}

export function isIpv4(text: string): boolean {
  return tryParseIpv4(text) !== undefined;
}

export function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join(".");
}

/** An IPv4 block in CIDR notation, normalised: `network` has no host bits set. */
export interface Cidr {
  /** The canonical text, e.g. "100.65.1.0/24". */
  readonly text: string;
  /** The network address (the block's first address). */
  readonly network: number;
  readonly prefixLength: number;
  /** Number of addresses in the block, network and broadcast included. */
  readonly size: number;
  /** The block's last address (the broadcast address of a subnet). */
  readonly broadcast: number;
}

function maskOf(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

/** The block of `prefixLength` that holds `address` (host bits dropped). */
export function cidrOf(address: number, prefixLength: number): Cidr {
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 32) {
    throw new Ipv4Error(`prefix length ${prefixLength} is out of range (expected 0 to 32)`);
  }
  if (!Number.isInteger(address) || address < 0 || address > 0xffffffff) {
    throw new Ipv4Error(`${address} is not an IPv4 address as a number (expected 0 to ${0xffffffff})`);
  }
  const network = (address & maskOf(prefixLength)) >>> 0;
  const size = 2 ** (32 - prefixLength);
  return { text: `${formatIpv4(network)}/${prefixLength}`, network, prefixLength, size, broadcast: network + size - 1 };
}

/**
 * Parses "a.b.c.d/n"; undefined when it is not one. With strict (the default) the host bits must
 * be zero: "100.65.1.7/24" usually means a node IP was pasted where a pod CIDR belongs, so it is
 * refused rather than rounded. With strict false it is read as 100.65.1.0/24.
 */
export function tryParseCidr(text: string, options: { strict?: boolean } = {}): Cidr | undefined {
  const slash = text.indexOf("/");
  if (slash < 0) return undefined;
  const address = tryParseIpv4(text.slice(0, slash));
  const lengthText = text.slice(slash + 1);
  if (address === undefined || !PREFIX_LENGTH.test(lengthText) || Number(lengthText) > 32) return undefined;
  const cidr = cidrOf(address, Number(lengthText));
  if ((options.strict ?? true) && cidr.network !== address) return undefined;
  return cidr;
}

/** Parses "a.b.c.d/n" as tryParseCidr does; throws an Ipv4Error naming the text and, for host bits, the network meant. */
export function parseCidr(text: string, options: { strict?: boolean } = {}): Cidr {
  const cidr = tryParseCidr(text, options);
  if (cidr) return cidr;
  const loose = tryParseCidr(text, { strict: false });
  if (loose) throw new Ipv4Error(`"${text}" has host bits set; did you mean ${loose.text}?`);
  throw new Ipv4Error(`"${text}" is not an IPv4 CIDR (expected a.b.c.d/n with n from 0 to 32, e.g. 100.65.1.0/24)`);
}

export function cidrContains(cidr: Cidr, address: number): boolean {
  return address >= cidr.network && address <= cidr.broadcast;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.network <= b.broadcast && b.network <= a.broadcast;
}

/** The i-th subnet of size /newPrefix inside `pool`, or undefined past the end. */
export function nthSubnet(pool: Cidr, newPrefix: number, i: number): Cidr | undefined {
  if (!Number.isInteger(newPrefix) || newPrefix < pool.prefixLength || newPrefix > 32) {
    throw new Ipv4Error(`cannot cut /${newPrefix} subnets out of ${pool.text} (expected a prefix length from ${pool.prefixLength} to 32)`);
  }
  const count = 2 ** (newPrefix - pool.prefixLength);
  if (!Number.isInteger(i) || i < 0 || i >= count) return undefined;
  return cidrOf(pool.network + i * 2 ** (32 - newPrefix), newPrefix);
}
