/**
 * The service model's rules: what a well-formed ServiceSpec is, and which specs cannot live on
 * one node together (two services claiming the same frontend). Which backends are active is
 * decided above the datapath (affinity, failover); the datapath takes the flags as given.
 */
import { isIpv4 } from "../util/ipv4.js";
import { frontendAddress } from "./objects.js";
import type { FrontendType, ServiceProtocol, ServiceSpec } from "./types.js";

/** Kubernetes' default NodePort range, which Cilium uses too. */
export const NODE_PORT_MIN = 30000;
export const NODE_PORT_MAX = 32767;

/** Service ids go into nftables element comments, which are quoted strings of at most 128 bytes. */
export const SERVICE_ID = /^[A-Za-z0-9][A-Za-z0-9._/:-]{0,127}$/;

const PROTOCOLS: readonly ServiceProtocol[] = ["tcp", "udp"];

const show = (value: unknown): string => (typeof value === "string" ? `"${value}"` : (JSON.stringify(value) ?? String(value)));

/** A frontend of a spec, as the kernel keys it. */
export interface FrontendRef {
  readonly type: FrontendType;
  readonly ip?: string;
  readonly port: number;
  readonly protocol: ServiceProtocol;
}

/** Every frontend of a well-formed spec: its ClusterIP, each load-balancer IP, its nodePort. */
export function frontendsOf(spec: ServiceSpec): FrontendRef[] {
  const { protocol, port } = spec;
  return [
    { type: "clusterIP", ip: spec.clusterIP, port, protocol },
    ...(spec.loadBalancerIPs ?? []).map((ip): FrontendRef => ({ type: "loadBalancer", ip, port, protocol })),
    ...(spec.nodePort !== undefined ? [{ type: "nodePort", port: spec.nodePort, protocol } as const] : []),
  ];
}

/**
 * A spec's own problems and frontend keys do not depend on the other specs, so they are
 * remembered per spec object: with thousands of services, a reconcile re-checks only the specs
 * that are new.
 */
const ownIssuesCache = new WeakMap<object, readonly string[]>();
const frontendKeysCache = new WeakMap<object, readonly { type: FrontendType; key: string }[]>();

/** The spec's frontends as "ip:port/proto" keys (the kernel's identity of a frontend). */
export function serviceFrontendKeys(spec: ServiceSpec): readonly { type: FrontendType; key: string }[] {
  let keys = frontendKeysCache.get(spec);
  if (!keys) frontendKeysCache.set(spec, (keys = frontendsOf(spec).map((f) => ({ type: f.type, key: frontendAddress(f) }))));
  return keys;
}

/** Problems of one spec on its own, without the "services[i]" prefix. */
export function ownServiceIssues(spec: ServiceSpec): readonly string[] {
  const cached = ownIssuesCache.get(spec);
  if (cached) return cached;
  const issues: string[] = [];
  if (typeof spec.id !== "string" || !SERVICE_ID.test(spec.id)) {
    issues.push(`id ${show(spec.id)} must be 1-128 characters of A-Z a-z 0-9 . _ / : - starting with a letter or digit`);
  }
  if (!PROTOCOLS.includes(spec.protocol)) issues.push(`protocol ${show(spec.protocol)} must be "tcp" or "udp"`);
  if (!isPort(spec.port)) issues.push(`port ${show(spec.port)} must be an integer from 1 to 65535`);
  if (typeof spec.clusterIP !== "string" || !isIpv4(spec.clusterIP)) issues.push(`clusterIP ${show(spec.clusterIP)} is not an IPv4 address`);
  if (spec.nodePort !== undefined && !(Number.isInteger(spec.nodePort) && spec.nodePort >= NODE_PORT_MIN && spec.nodePort <= NODE_PORT_MAX)) {
    issues.push(`nodePort ${show(spec.nodePort)} must be an integer from ${NODE_PORT_MIN} to ${NODE_PORT_MAX}`);
  }
  if (spec.loadBalancerIPs !== undefined) {
    if (!Array.isArray(spec.loadBalancerIPs)) {
      issues.push(`loadBalancerIPs must be a list, got ${show(spec.loadBalancerIPs)}`);
    } else {
      const seen = new Set<string>();
      spec.loadBalancerIPs.forEach((ip, i) => {
        if (typeof ip !== "string" || !isIpv4(ip)) issues.push(`loadBalancerIPs[${i}] ${show(ip)} is not an IPv4 address`);
        else if (ip === spec.clusterIP) issues.push(`loadBalancerIPs[${i}] ${show(ip)} is the service's own clusterIP`);
        else if (seen.has(ip)) issues.push(`loadBalancerIPs[${i}] ${show(ip)} is listed twice`);
        seen.add(ip);
      });
    }
  }
  if (!Array.isArray(spec.backends)) {
    issues.push(`backends must be a list, got ${show(spec.backends)}`);
  } else {
    const seen = new Map<string, number>();
    spec.backends.forEach((b, i) => {
      if (b === null || typeof b !== "object") {
        issues.push(`backends[${i}] must be an object, got ${show(b)}`);
        return;
      }
      if (typeof b.ip !== "string" || !isIpv4(b.ip)) issues.push(`backends[${i}]: ip ${show(b.ip)} is not an IPv4 address`);
      if (!isPort(b.port)) issues.push(`backends[${i}]: port ${show(b.port)} must be an integer from 1 to 65535`);
      if (typeof b.active !== "boolean") issues.push(`backends[${i}]: active ${show(b.active)} must be true or false`);
      const key = `${String(b.ip)}:${String(b.port)}`;
      const first = seen.get(key);
      if (first !== undefined) issues.push(`backends[${i}]: ${key} is the same backend as backends[${first}]`);
      else seen.set(key, i);
    });
  }
  ownIssuesCache.set(spec, issues);
  return issues;
}

function isPort(value: unknown): boolean {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65535;
}

/** Every problem with the node's services, each naming the service, the field and the value given. */
export function serviceIssues(services: unknown): string[] {
  if (services === undefined) return [];
  if (!Array.isArray(services)) return [`services must be a list, got ${show(services)}`];
  const issues: string[] = [];
  const ids = new Map<string, number>();
  const frontends = new Map<string, number>();
  (services as readonly ServiceSpec[]).forEach((spec, i) => {
    if (spec === null || typeof spec !== "object") {
      issues.push(`services[${i}] must be an object, got ${show(spec)}`);
      return;
    }
    const at = `services[${i}]${typeof spec.id === "string" ? ` (${spec.id})` : ""}`;
    const own = ownServiceIssues(spec);
    for (const issue of own) issues.push(`${at}: ${issue}`);
    const firstId = ids.get(spec.id);
    if (firstId !== undefined) issues.push(`${at}: id ${show(spec.id)} is already used by services[${firstId}]; ids must be unique`);
    else ids.set(spec.id, i);
    if (own.length) return;
    for (const { type, key } of serviceFrontendKeys(spec)) {
      const first = frontends.get(key);
      if (first !== undefined) issues.push(`${at}: ${type} ${key} is already a frontend of services[${first}]`);
      else frontends.set(key, i);
    }
  });
  return issues;
}
