import { isIpv4 } from "../util/ipv4.js";
import type { HealthIdentity } from "./types.js";

/** Checks of caller-given values; each error names the setting and the value given. */

export function requireIpv4(what: string, value: unknown): string {
  if (typeof value !== "string" || !isIpv4(value)) {
    throw new RangeError(`${what} must be an IPv4 address such as 198.18.1.11 (got ${JSON.stringify(value)})`);
  }
  return value;
}

/** 0 asks the kernel for a free port (tests); health servers use 4240. */
export function requirePort(what: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 65535) {
    throw new RangeError(`${what} must be a TCP port number from 0 to 65535 (got ${JSON.stringify(value)})`);
  }
  return value;
}

export function requirePositiveInt(what: string, value: unknown, unit: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value <= 0) {
    throw new RangeError(`${what} must be a positive whole number of ${unit} (got ${JSON.stringify(value)})`);
  }
  return value;
}

const NAME_PART = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,252}[A-Za-z0-9])?$/;

export function requireIdentity(what: string, value: HealthIdentity | undefined): HealthIdentity {
  for (const field of ["cluster", "node"] as const) {
    const v: unknown = value?.[field];
    if (typeof v !== "string" || !NAME_PART.test(v)) {
      throw new RangeError(`${what}.${field} must be a ${field} name (letters, digits, ".", "_", "-"; got ${JSON.stringify(v)})`);
    }
  }
  return { cluster: value!.cluster, node: value!.node };
}

/** Named network namespaces are files under /run/netns; `ip netns` limits names to a path component. */
const NETNS_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export function requireNetnsName(what: string, value: unknown): string {
  if (typeof value !== "string" || !NETNS_NAME.test(value) || value === "." || value === "..") {
    throw new RangeError(`${what} must be a network namespace name of 1-64 letters, digits, "_", "." or "-" (got ${JSON.stringify(value)})`);
  }
  return value;
}
