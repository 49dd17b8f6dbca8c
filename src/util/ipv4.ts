/**
 * IPv4 addresses as unsigned 32-bit numbers, and CIDR arithmetic: parse, format, contain, overlap,
 * cut a pool into subnets. Strict parsing: four decimal octets, no leading zeros, no spaces.
 */
export class Ipv4Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = "Ipv4Error";
  }
}

const OCTET = /^(0|[1-9]\d{0,2})$/;

export function tryParseIpv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let v = 0;
  for (const p of parts) {
    if (!OCTET.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = v * 256 + n;
  }
  return v;
}

export function parseIpv4(text: string): number {
  const v = tryParseIpv4(text);
  if (v === undefined) throw new Ipv4Error(`"${text}" is not an IPv4 address (expected four numbers 0-255 separated by dots)`);
  return v;
}

export function isIpv4(text: string): boolean {
  return tryParseIpv4(text) !== undefined;
}

export function formatIpv4(v: number): string {
  return [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join(".");
}

export interface Cidr {
  /** Network address (host bits zero). */
  readonly base: number;
  readonly prefixLength: number;
}

export function maskOf(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

export function tryParseCidr(text: string, options: { strict?: boolean } = {}): Cidr | undefined {
  const slash = text.indexOf("/");
  if (slash < 0) return undefined;
  const ip = tryParseIpv4(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (ip === undefined || !/^(0|[1-9]\d?)$/.test(lenText)) return undefined;
  const len = Number(lenText);
  if (len > 32) return undefined;
  const base = (ip & maskOf(len)) >>> 0;
  if (options.strict && base !== ip) return undefined;
  return { base, prefixLength: len };
}

/** Parses "a.b.c.d/n"; with strict (the default) host bits must be zero. */
export function parseCidr(text: string, options: { strict?: boolean } = { strict: true }): Cidr {
  const c = tryParseCidr(text, options);
  if (!c) {
    const loose = tryParseCidr(text);
    if (loose && options.strict) throw new Ipv4Error(`"${text}" has host bits set; did you mean ${formatCidr(loose)}?`);
    throw new Ipv4Error(`"${text}" is not an IPv4 CIDR (expected a.b.c.d/n with n from 0 to 32)`);
  }
  return c;
}

export function formatCidr(c: Cidr): string {
  return `${formatIpv4(c.base)}/${c.prefixLength}`;
}

export function cidrSize(c: Cidr): number {
  return 2 ** (32 - c.prefixLength);
}

export function cidrContainsIp(c: Cidr, ip: number): boolean {
  return ((ip & maskOf(c.prefixLength)) >>> 0) === c.base;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  const len = Math.min(a.prefixLength, b.prefixLength);
  const m = maskOf(len);
  return ((a.base & m) >>> 0) === ((b.base & m) >>> 0);
}

/** The i-th subnet of size /newPrefix inside `pool`, or undefined past the end. */
export function nthSubnet(pool: Cidr, newPrefix: number, i: number): Cidr | undefined {
  if (newPrefix < pool.prefixLength || newPrefix > 32) throw new Ipv4Error(`cannot cut /${newPrefix} subnets out of ${formatCidr(pool)}`);
  const count = 2 ** (newPrefix - pool.prefixLength);
  if (i < 0 || i >= count) return undefined;
  return { base: pool.base + i * 2 ** (32 - newPrefix), prefixLength: newPrefix };
}

/** Network address + n (n = 1 is the first host address). */
export function hostAddress(c: Cidr, n: number): number {
  return c.base + n;
}
