/**
 * IP addresses, prefixes and masks as Go's net package reads and prints them, because records are
 * compared by the text Go produces (an ipcache key must equal the record's IP.String()).
 *   - Parsing follows net.ParseIP: dotted-quad IPv4 without leading zeros, IPv6 with an optional
 *     trailing dotted quad, no zone.
 *   - Printing follows net.IP.String: IPv4 (and IPv4-mapped IPv6) as a dotted quad, IPv6 in
 *     lower case with the longest run of two or more zero groups written "::".
 *   - Masks travel as base64 of their bytes (Go's net.IPMask is a []byte).
 */

export type IpFamily = 4 | 6;

export interface ParsedIp {
  /** Go's printed form. */
  readonly text: string;
  readonly family: IpFamily;
  /** 4 bytes for IPv4 (including IPv4-mapped IPv6), 16 for IPv6. */
  readonly bytes: Uint8Array;
}

/** The 32-bit value of a dotted quad in s[start, end), or -1. */
function parseIPv4Value(s: string, start: number, end: number): number {
  let value = 0;
  let octets = 0;
  let i = start;
  while (i < end) {
    let octet = 0;
    let digits = 0;
    const first = i;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      octet = octet * 10 + (c - 48);
      digits++;
      i++;
      if (digits > 3) return -1;
    }
    if (digits === 0 || octet > 255 || (digits > 1 && s.charCodeAt(first) === 48)) return -1;
    value = value * 256 + octet;
    octets++;
    if (i === end) break;
    if (s.charCodeAt(i) !== 46 || octets === 4) return -1;
    i++;
    if (i === end) return -1;
  }
  return octets === 4 ? value : -1;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function parseIPv6Bytes(s: string): Uint8Array | undefined {
  const out = new Uint8Array(16);
  let i = 0;
  const n = s.length;
  let group = 0;
  let ellipsis = -1;
  if (n >= 2 && s.charCodeAt(0) === 58 && s.charCodeAt(1) === 58) {
    ellipsis = 0;
    i = 2;
    if (i === n) return out;
  }
  while (i < n && group < 8) {
    let value = 0;
    let digits = 0;
    const start = i;
    while (i < n) {
      const d = hexDigit(s.charCodeAt(i));
      if (d < 0) break;
      value = value * 16 + d;
      digits++;
      i++;
      if (digits > 4) return undefined;
    }
    if (digits === 0) return undefined;
    if (i < n && s.charCodeAt(i) === 46) {
      // A trailing dotted quad fills the last 32 bits.
      if (ellipsis < 0 && group !== 6) return undefined;
      if (group > 6) return undefined;
      const v4 = parseIPv4Value(s, start, n);
      if (v4 < 0) return undefined;
      out[group * 2] = v4 >>> 24;
      out[group * 2 + 1] = (v4 >>> 16) & 0xff;
      out[group * 2 + 2] = (v4 >>> 8) & 0xff;
      out[group * 2 + 3] = v4 & 0xff;
      group += 2;
      i = n;
      break;
    }
    out[group * 2] = value >>> 8;
    out[group * 2 + 1] = value & 0xff;
    group++;
    if (i === n) break;
    if (s.charCodeAt(i) !== 58) return undefined;
    i++;
    if (i < n && s.charCodeAt(i) === 58) {
      if (ellipsis >= 0) return undefined;
      ellipsis = group;
      i++;
      if (i === n) break;
    } else if (i === n) {
      return undefined;
    }
  }
  if (i !== n) return undefined;
  if (group < 8) {
    if (ellipsis < 0) return undefined;
    const tail = group - ellipsis;
    for (let k = tail - 1; k >= 0; k--) {
      out[(16 - tail * 2) + k * 2] = out[(ellipsis + k) * 2]!;
      out[(16 - tail * 2) + k * 2 + 1] = out[(ellipsis + k) * 2 + 1]!;
    }
    for (let k = ellipsis * 2; k < 16 - tail * 2; k++) out[k] = 0;
  } else if (ellipsis >= 0) {
    return undefined; // "::" must stand for at least one group
  }
  return out;
}

function isV4Mapped(b: Uint8Array): boolean {
  for (let k = 0; k < 10; k++) if (b[k] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/** Prints 4 or 16 bytes the way Go's net.IP.String does. */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (bytes.length !== 16) throw new RangeError(`an IP address has 4 or 16 bytes (got ${bytes.length})`);
  if (isV4Mapped(bytes)) return `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  let bestStart = -1;
  let bestLen = 0;
  for (let g = 0; g < 8; ) {
    if (bytes[g * 2] === 0 && bytes[g * 2 + 1] === 0) {
      let end = g;
      while (end < 8 && bytes[end * 2] === 0 && bytes[end * 2 + 1] === 0) end++;
      if (end - g > bestLen) {
        bestStart = g;
        bestLen = end - g;
      }
      g = end;
    } else g++;
  }
  if (bestLen < 2) bestStart = -1;
  let out = "";
  for (let g = 0; g < 8; g++) {
    if (g === bestStart) {
      out += "::";
      g += bestLen - 1;
      continue;
    }
    if (g > 0 && !out.endsWith(":")) out += ":";
    out += ((bytes[g * 2]! << 8) | bytes[g * 2 + 1]!).toString(16);
  }
  return out;
}

/** Reads an address as Go's net.ParseIP does; undefined when Go would return nil. */
export function parseIp(s: string): ParsedIp | undefined {
  if (s.length === 0 || s.length > 45) return undefined;
  if (s.indexOf(":") < 0) {
    const v = parseIPv4Value(s, 0, s.length);
    if (v < 0) return undefined;
    // Already Go's form: parseIPv4Value admits no leading zeros or other variants.
    return { text: s, family: 4, bytes: Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff) };
  }
  const b = parseIPv6Bytes(s);
  if (b === undefined) return undefined;
  if (isV4Mapped(b)) {
    const v4 = b.slice(12);
    return { text: formatIp(v4), family: 4, bytes: v4 };
  }
  return { text: formatIp(b), family: 6, bytes: b };
}

/** Go's printed form of an address, or undefined when it does not parse. */
export function canonicalIp(s: string): string | undefined {
  // Most addresses are IPv4 already in Go's form: check them without building anything.
  if (s.length <= 15 && s.indexOf(":") < 0) return parseIPv4Value(s, 0, s.length) < 0 ? undefined : s;
  return parseIp(s)?.text;
}

// ---- masks and prefixes ----

interface MaskInfo {
  readonly family: IpFamily;
  readonly bits: number;
}

const maskByBase64 = new Map<string, MaskInfo>();
const base64ByMask: [string[], string[]] = [[], []];
for (const [family, size] of [[4, 4], [6, 16]] as const) {
  for (let bits = 0; bits <= size * 8; bits++) {
    const bytes = new Uint8Array(size);
    for (let k = 0; k < bits; k++) bytes[k >> 3]! |= 0x80 >> (k & 7);
    const b64 = Buffer.from(bytes).toString("base64");
    maskByBase64.set(b64, { family, bits });
    base64ByMask[family === 4 ? 0 : 1][bits] = b64;
  }
}

/**
 * The prefix length of a base64-encoded mask, or undefined when it is not a canonical mask (ones
 * then zeros) of 4 or 16 bytes. Only canonical masks mean a prefix; Go reports others as size 0/0.
 */
export function maskFromBase64(b64: string): MaskInfo | undefined {
  return maskByBase64.get(b64);
}

/** The base64 text of a /bits mask for the family, as Go writes a net.IPMask. */
export function maskToBase64(family: IpFamily, bits: number): string {
  const b64 = base64ByMask[family === 4 ? 0 : 1][bits];
  if (b64 === undefined) throw new RangeError(`a /${bits} mask does not exist for IPv${family}`);
  return b64;
}

/** True when no bit after the first `bits` is set, i.e. the address is the prefix's network address. */
export function isNetworkAddress(bytes: Uint8Array, bits: number): boolean {
  for (let k = bits; k < bytes.length * 8; k++) {
    if (bytes[k >> 3]! & (0x80 >> (k & 7))) return false;
  }
  return true;
}

export interface ParsedCidr {
  /** The network address, in Go's printed form. */
  readonly ip: string;
  readonly bits: number;
  readonly family: IpFamily;
  /** `ip/bits`. */
  readonly text: string;
}

/**
 * Reads `addr/bits` as netip.ParsePrefix does, and also requires the address to be the network
 * address: a prefix with host bits set is almost always a typo for another prefix.
 */
export function parseCidr(s: string): ParsedCidr | { readonly problem: string } {
  const slash = s.indexOf("/");
  if (slash < 0) return { problem: "it must be written address/length" };
  const ip = parseIp(s.slice(0, slash));
  if (ip === undefined) return { problem: "the address part is not an IP address" };
  const lengthText = s.slice(slash + 1);
  const max = ip.family === 4 ? 32 : 128;
  if (!/^(0|[1-9][0-9]{0,2})$/.test(lengthText) || Number(lengthText) > max) {
    return { problem: `the length must be an integer from 0 to ${max}` };
  }
  const bits = Number(lengthText);
  if (!isNetworkAddress(ip.bytes, bits)) return { problem: `the address has bits set beyond the /${bits} prefix` };
  return { ip: ip.text, bits, family: ip.family, text: `${ip.text}/${bits}` };
}
