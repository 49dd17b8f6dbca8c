import { MAX_GLOBAL_IDENTITY } from "../cluster/index.js";
import type { PortProtocolName } from "./model.js";

/**
 * What an endpoint's policy is made of: keys (peer identity, L4 protocol, destination port), the
 * shape of an nftables set keyed by `identity . l4proto . port` and of Cilium's policy map key.
 * A key is a string so it can live in a Set: `<identity>/<protocol>/<port>` or
 * `<identity>/<protocol>/<port>-<endPort>` for a port range, with protocol as its IP protocol
 * number. 0 in any position is a wildcard, as in Cilium's policy map:
 *   "65537/6/80"  identity 65537, TCP, port 80
 *   "65537/0/0"   identity 65537, any protocol, any port (an L3-only rule)
 *   "0/6/443"     any identity, TCP 443 (a toPorts rule without peers, or the entity "all")
 *   "2/17/53"     world (identity 2), UDP 53
 *   "65537/6/8000-8080" a port range
 * For nftables, keyRanges() gives each position as an interval: an interval-flagged concatenated
 * set takes `65537 . 6 . 80-80` and `0-16777215 . 6 . 443-443` alike.
 */

export type PolicyKey = string;

export const ANY_IDENTITY = 0;
export const ANY_PROTOCOL = 0;
export const ANY_PORT = 0;

/** IP protocol numbers of what a flow may carry. */
export const PROTOCOL_NUMBERS = { TCP: 6, UDP: 17, SCTP: 132, ICMP: 1 } as const;
export type FlowProtocol = keyof typeof PROTOCOL_NUMBERS;

const NAMES = new Map<number, string>([[ANY_PROTOCOL, "ANY"], ...Object.entries(PROTOCOL_NUMBERS).map(([n, v]): [number, string] => [v, n])]);

export interface PolicyKeyParts {
  readonly identity: number;
  readonly protocol: number;
  /** 0 for any port; then endPort is 0 as well. */
  readonly port: number;
  readonly endPort: number;
}

/** The protocol number a policy's port protocol stands for (ANY = 0). */
export function protocolNumber(name: PortProtocolName | FlowProtocol): number {
  return name === "ANY" ? ANY_PROTOCOL : PROTOCOL_NUMBERS[name];
}

export function protocolName(protocol: number): string {
  return NAMES.get(protocol) ?? String(protocol);
}

export function policyKey(identity: number, protocol: number, port: number, endPort: number = port): PolicyKey {
  if (!Number.isInteger(identity) || identity < 0) throw new RangeError(`policy key identity must be a non-negative integer (got ${identity})`);
  if (!Number.isInteger(protocol) || protocol < 0 || protocol > 255) throw new RangeError(`policy key protocol must be 0-255 (got ${protocol})`);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`policy key port must be 0-65535 (got ${port})`);
  if (!Number.isInteger(endPort) || endPort < port || endPort > 65535 || (port === ANY_PORT && endPort !== ANY_PORT)) {
    throw new RangeError(`policy key end port must be ${port === ANY_PORT ? "0 with port 0" : `${port}-65535`} (got ${endPort})`);
  }
  return endPort === port ? `${identity}/${protocol}/${port}` : `${identity}/${protocol}/${port}-${endPort}`;
}

const KEY = /^(\d+)\/(\d+)\/(\d+)(?:-(\d+))?$/;

export function parsePolicyKey(key: PolicyKey): PolicyKeyParts {
  const m = KEY.exec(key);
  if (!m) throw new RangeError(`policy key ${JSON.stringify(key)} is not <identity>/<protocol>/<port>[-<endPort>]`);
  const port = Number(m[3]);
  const parts = { identity: Number(m[1]), protocol: Number(m[2]), port, endPort: m[4] === undefined ? port : Number(m[4]) };
  policyKey(parts.identity, parts.protocol, parts.port, parts.endPort);
  return parts;
}

/** True when the key covers traffic with this peer identity, protocol and destination port. */
export function keyCovers(parts: PolicyKeyParts, identity: number, protocol: number, port: number): boolean {
  if (parts.identity !== ANY_IDENTITY && parts.identity !== identity) return false;
  if (parts.protocol !== ANY_PROTOCOL && parts.protocol !== protocol) return false;
  return parts.port === ANY_PORT || (port >= parts.port && port <= parts.endPort);
}

export interface KeyRanges {
  readonly identity: readonly [number, number];
  readonly protocol: readonly [number, number];
  readonly port: readonly [number, number];
}

/** Each position of a key as an inclusive interval, wildcards spelled out as the whole range. */
export function keyRanges(key: PolicyKey): KeyRanges {
  const p = parsePolicyKey(key);
  return {
    identity: p.identity === ANY_IDENTITY ? [0, MAX_GLOBAL_IDENTITY] : [p.identity, p.identity],
    protocol: p.protocol === ANY_PROTOCOL ? [0, 255] : [p.protocol, p.protocol],
    port: p.port === ANY_PORT ? [0, 65535] : [p.port, p.endPort],
  };
}

/** `65537 TCP/80`, `any-identity ANY/any-port`: a key as traces print it. */
export function describeKey(key: PolicyKey): string {
  const p = parsePolicyKey(key);
  const id = p.identity === ANY_IDENTITY ? "any-identity" : String(p.identity);
  const port = p.port === ANY_PORT ? "any-port" : p.endPort === p.port ? String(p.port) : `${p.port}-${p.endPort}`;
  return `${id} ${protocolName(p.protocol)}/${port}`;
}
