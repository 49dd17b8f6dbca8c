import { DatapathInputError } from "./errors.js";
import { MIN_IPV4_MTU, VXLAN_OVERHEAD } from "./mtu.js";
import { cidrContains, cidrsOverlap, formatIpv4, tryParseCidr, tryParseIpv4, type Cidr } from "../util/ipv4.js";
import { MAX_POD_CIDR_PREFIX } from "./node-addressing.js";
import { serviceIssues } from "./services.js";
import { isGlobalIdentity } from "../cluster/index.js";
import { parsePolicyKey } from "../policy/index.js";
import type { DesiredNodeState, NodePolicyState, PolicyDirectionRules } from "./types.js";

/**
 * Interface names the datapath accepts. The kernel allows more (anything but "/", ":" and
 * whitespace, at most 15 bytes), but names end up as tokens in `ip -batch` input, where quotes,
 * "#" and backslashes mean something; real names (eth0, enp3s0, trl…, veth-x) never need them.
 */
const INTERFACE_NAME = /^[A-Za-z0-9_.@-]{1,15}$/;

export function isValidInterfaceName(name: string): boolean {
  return INTERFACE_NAME.test(name) && name !== "." && name !== "..";
}

const show = (value: unknown): string => (typeof value === "string" ? `"${value}"` : JSON.stringify(value) ?? String(value));

/** Every problem in `desired`, each naming the field and the value given; empty when it is valid. */
export function desiredStateIssues(desired: DesiredNodeState): string[] {
  const issues = networkStateIssues(desired);
  if (desired !== null && typeof desired === "object") issues.push(...serviceIssues(desired.services));
  return issues;
}

/** desiredStateIssues without the services (which the Linux datapath checks incrementally). */
export function networkStateIssues(desired: DesiredNodeState): string[] {
  const issues: string[] = [];
  if (desired === null || typeof desired !== "object") return [`desired state must be an object, got ${show(desired)}`];
  if (desired.mode !== "tunnel" && desired.mode !== "native") issues.push(`mode ${show(desired.mode)} must be "tunnel" or "native"`);

  const local = desired.local;
  let localCidr: Cidr | undefined;
  let localNodeIP: number | undefined;
  if (local === null || typeof local !== "object") {
    issues.push(`local node must be an object, got ${show(local)}`);
  } else {
    const at = `local node ${show(local.name)}`;
    requireName(issues, at, "name", local.name);
    requireName(issues, at, "cluster", local.cluster);
    localNodeIP = requireIp(issues, at, "nodeIP", local.nodeIP);
    localCidr = requireCidr(issues, at, local.podCIDR);
    if (typeof local.uplink !== "string" || !isValidInterfaceName(local.uplink)) {
      issues.push(`${at}: uplink ${show(local.uplink)} is not an interface name (1-15 characters of A-Z a-z 0-9 _ . @ -)`);
    }
    if (local.underlayMtu !== undefined) {
      const min = desired.mode === "tunnel" ? MIN_IPV4_MTU + VXLAN_OVERHEAD : MIN_IPV4_MTU;
      if (!Number.isInteger(local.underlayMtu) || local.underlayMtu < min || local.underlayMtu > 65535) {
        issues.push(`${at}: underlayMtu ${show(local.underlayMtu)} must be an integer from ${min} to 65535`);
      }
    }
  }

  if (!Array.isArray(desired.peers)) {
    issues.push(`peers must be a list, got ${show(desired.peers)}`);
  } else {
    const seenNames = new Map<string, number>();
    const cidrs: { cidr: Cidr; text: string; index: number }[] = [];
    desired.peers.forEach((peer, i) => {
      if (peer === null || typeof peer !== "object") {
        issues.push(`peers[${i}] must be an object, got ${show(peer)}`);
        return;
      }
      const at = `peers[${i}] (${String(peer.cluster)}/${String(peer.name)})`;
      requireName(issues, at, "name", peer.name);
      requireName(issues, at, "cluster", peer.cluster);
      const id = `${String(peer.cluster)}/${String(peer.name)}`;
      const first = seenNames.get(id);
      if (first !== undefined) issues.push(`${at}: the same node as peers[${first}]; each peer must appear once`);
      else seenNames.set(id, i);
      const ip = requireIp(issues, at, "nodeIP", peer.nodeIP);
      if (ip !== undefined && ip === localNodeIP) issues.push(`${at}: nodeIP ${show(peer.nodeIP)} is the local node's own IP`);
      const cidr = requireCidr(issues, at, peer.podCIDR);
      if (!cidr) return;
      if (localCidr && cidrsOverlap(cidr, localCidr)) {
        issues.push(`${at}: podCIDR ${show(peer.podCIDR)} overlaps the local pod CIDR ${show(local.podCIDR)}`);
      }
      cidrs.push({ cidr, text: peer.podCIDR, index: i });
    });
    // Sorted by start, a CIDR overlaps an earlier one exactly when it starts before the widest
    // earlier end: O(n log n) rather than comparing every pair of a thousand peers.
    cidrs.sort((a, b) => a.cidr.network - b.cidr.network || a.index - b.index);
    let widest: (typeof cidrs)[number] | undefined;
    for (const c of cidrs) {
      if (widest && c.cidr.network <= widest.cidr.broadcast) {
        const [first, second] = widest.index < c.index ? [widest, c] : [c, widest];
        issues.push(`peers[${second.index}]: podCIDR "${second.text}" overlaps peers[${first.index}]'s podCIDR "${first.text}"`);
      }
      if (!widest || c.cidr.broadcast > widest.cidr.broadcast) widest = c;
    }
  }

  if (!Array.isArray(desired.endpoints)) {
    issues.push(`endpoints must be a list, got ${show(desired.endpoints)}`);
  } else {
    const seenIps = new Map<string, number>();
    desired.endpoints.forEach((ep, i) => {
      if (ep === null || typeof ep !== "object") {
        issues.push(`endpoints[${i}] must be an object, got ${show(ep)}`);
        return;
      }
      const at = `endpoints[${i}]${ep.containerId ? ` (container ${ep.containerId})` : ""}`;
      if (typeof ep.hostIfName !== "string" || !isValidInterfaceName(ep.hostIfName)) {
        issues.push(`${at}: hostIfName ${show(ep.hostIfName)} is not an interface name (1-15 characters of A-Z a-z 0-9 _ . @ -)`);
      }
      const ip = requireIp(issues, at, "ip", ep.ip);
      if (ip === undefined) return;
      const previous = seenIps.get(ep.ip);
      if (previous !== undefined) issues.push(`${at}: ip ${show(ep.ip)} is already used by endpoints[${previous}]`);
      else seenIps.set(ep.ip, i);
      if (!localCidr) return;
      if (!cidrContains(localCidr, ip)) {
        issues.push(`${at}: ip ${show(ep.ip)} is outside the local pod CIDR ${show(local.podCIDR)}`);
      } else if (ip === localCidr.network || ip === localCidr.network + 1 || ip === localCidr.broadcast) {
        const what = ip === localCidr.network + 1 ? `the router IP ${formatIpv4(ip)}` : "the network or broadcast address";
        issues.push(`${at}: ip ${show(ep.ip)} is ${what} of pod CIDR ${show(local.podCIDR)}, not a pod address`);
      }
    });
  }
  return issues;
}

/** Throws DatapathInputError listing every problem in `desired`. */
export function validateDesiredState(desired: DesiredNodeState): void {
  const issues = desiredStateIssues(desired);
  if (issues.length) throw new DatapathInputError(issues);
}

/**
 * Every problem in a policy state, each naming the field and the value given; empty when it is
 * valid. With `ipcacheEntries: "skip"` the ipcache's entries are not looked at (only that it is a
 * Map): a caller that knows most of them from an earlier call checks the rest with ipcacheIssues.
 */
export function policyStateIssues(desired: NodePolicyState, options: { ipcacheEntries?: "check" | "skip" } = {}): string[] {
  if (desired === null || typeof desired !== "object") return [`policy state must be an object, got ${show(desired)}`];
  const issues: string[] = [];
  if (!(desired.ipcache instanceof Map)) {
    issues.push(`ipcache must be a Map of IPv4 address to identity, got ${show(desired.ipcache)}`);
  } else if (options.ipcacheEntries !== "skip") {
    issues.push(...ipcacheIssues(desired.ipcache));
  }
  if (!Array.isArray(desired.endpoints)) {
    issues.push(`policy endpoints must be a list, got ${show(desired.endpoints)}`);
    return issues;
  }
  const seen = new Map<string, number>();
  desired.endpoints.forEach((ep, i) => {
    if (ep === null || typeof ep !== "object") {
      issues.push(`policy endpoints[${i}] must be an object, got ${show(ep)}`);
      return;
    }
    const at = `policy endpoints[${i}] (${String(ep.hostIfName)})`;
    if (typeof ep.hostIfName !== "string" || !isValidInterfaceName(ep.hostIfName)) {
      issues.push(`${at}: hostIfName ${show(ep.hostIfName)} is not an interface name (1-15 characters of A-Z a-z 0-9 _ . @ -)`);
    } else {
      const first = seen.get(ep.hostIfName);
      if (first !== undefined) issues.push(`${at}: the same hostIfName as policy endpoints[${first}]; give each endpoint's rules once`);
      else seen.set(ep.hostIfName, i);
    }
    requireIp(issues, at, "ip", ep.ip);
    directionIssues(issues, `${at} ingress`, ep.ingress);
    directionIssues(issues, `${at} egress`, ep.egress);
  });
  return issues;
}

/** Problems with ipcache entries (address, identity). */
export function ipcacheIssues(entries: Iterable<readonly [unknown, unknown]>): string[] {
  const issues: string[] = [];
  for (const [ip, identity] of entries) {
    if (typeof ip !== "string" || tryParseIpv4(ip) === undefined) issues.push(`ipcache: ${show(ip)} is not an IPv4 address (a.b.c.d)`);
    if (typeof identity !== "number" || !isGlobalIdentity(identity)) issues.push(`ipcache: identity ${show(identity)} of ${show(ip)} must be an integer from 0 to 16777215`);
  }
  return issues;
}

/** Throws DatapathInputError listing every problem in a policy state. */
export function validatePolicyState(desired: NodePolicyState): void {
  const issues = policyStateIssues(desired);
  if (issues.length) throw new DatapathInputError(issues);
}

function directionIssues(issues: string[], at: string, rules: PolicyDirectionRules): void {
  if (rules === null || typeof rules !== "object") {
    issues.push(`${at} must be an object with enforced, allow and deny, got ${show(rules)}`);
    return;
  }
  if (typeof rules.enforced !== "boolean") issues.push(`${at}: enforced ${show(rules.enforced)} must be true or false`);
  for (const field of ["allow", "deny"] as const) {
    const keys = rules[field];
    if (!(keys instanceof Set)) {
      issues.push(`${at}: ${field} must be a Set of policy keys, got ${show(keys)}`);
      continue;
    }
    for (const key of keys) {
      try {
        const { identity } = parsePolicyKey(key);
        if (!isGlobalIdentity(identity)) issues.push(`${at}: ${field} key ${show(key)} names identity ${identity}, above the largest identity 16777215`);
      } catch (e) {
        issues.push(`${at}: ${field} key ${show(key)}: ${(e as Error).message}`);
      }
    }
  }
}

function requireName(issues: string[], at: string, field: string, value: unknown): void {
  if (typeof value !== "string" || value.trim() === "") issues.push(`${at}: ${field} ${show(value)} must be a non-empty string`);
}

function requireIp(issues: string[], at: string, field: string, value: unknown): number | undefined {
  const ip = typeof value === "string" ? tryParseIpv4(value) : undefined;
  if (ip === undefined) issues.push(`${at}: ${field} ${show(value)} is not an IPv4 address`);
  return ip;
}

function requireCidr(issues: string[], at: string, value: unknown): Cidr | undefined {
  const cidr = typeof value === "string" ? tryParseCidr(value) : undefined;
  if (!cidr) {
    issues.push(`${at}: podCIDR ${show(value)} is not an IPv4 network (a.b.c.d/len with the host bits zero)`);
    return undefined;
  }
  if (cidr.prefixLength > MAX_POD_CIDR_PREFIX) {
    issues.push(`${at}: podCIDR ${show(value)} is too small; use a prefix length of at most /${MAX_POD_CIDR_PREFIX}`);
    return undefined;
  }
  return cidr;
}
