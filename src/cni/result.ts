/**
 * The JSON a CNI plugin prints: the ADD result, the VERSION answer and the error object, in the
 * shapes of the CNI specification. Results are built once in the newest shape and adapted to the
 * version the runtime asked for on the way out.
 */

/** Versions whose result format this plugin writes. CHECK needs 0.4.0 or later, so older ones are not offered. */
export const SUPPORTED_VERSIONS = ["0.4.0", "1.0.0", "1.1.0"] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];
/** Used for errors raised before the configuration's own version is known. */
export const FALLBACK_VERSION: CniVersion = "1.0.0";

export function isSupportedVersion(v: unknown): v is CniVersion {
  return typeof v === "string" && (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

/** Error codes: 1-99 are the specification's, 100+ are this plugin's own. */
export const ErrorCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  ContainerUnknown: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodeFailure: 6,
  InvalidConfig: 7,
  TryAgainLater: 11,
  PluginNotAvailable: 50,
  /** The kernel refused part of the pod's wiring (an `ip` command failed). */
  NetworkSetupFailed: 100,
  /** CNI_NETNS does not exist or is not a network namespace. */
  NetnsUnusable: 101,
  /** An interface the plugin must create already exists (in the pod or on the host). */
  InterfaceExists: 102,
  /** The agent answered with an error that retrying will not fix, or with an answer we cannot use. */
  AgentRefused: 103,
  /** CHECK found the pod's networking different from the ADD result. */
  CheckFailed: 104,
  /** A bug or an unexpected failure inside the plugin. */
  Internal: 199,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An error the plugin reports to the runtime as the spec's error object. */
export class CniError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "CniError";
  }
}

export interface CniInterface {
  name: string;
  mac?: string;
  mtu?: number;
  /** The netns path for interfaces inside the pod; absent for host interfaces. */
  sandbox?: string;
}

export interface CniIpConfig {
  /** CIDR notation, e.g. "100.64.7.2/32". */
  address: string;
  gateway?: string;
  /** Index into `interfaces`. */
  interface?: number;
}

export interface CniRoute {
  dst: string;
  gw?: string;
}

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface CniResult {
  cniVersion: string;
  interfaces: CniInterface[];
  ips: CniIpConfig[];
  routes: CniRoute[];
  dns: CniDns;
}

/** The result as printed for `version`: 0.4.0 has `version` on each IP; only 1.1.0 knows interface `mtu`. */
export function encodeResult(result: CniResult, version: CniVersion): Record<string, unknown> {
  const interfaces = result.interfaces.map((i) => {
    const out: Record<string, unknown> = { name: i.name };
    if (i.mac !== undefined) out.mac = i.mac;
    if (i.mtu !== undefined && version === "1.1.0") out.mtu = i.mtu;
    if (i.sandbox !== undefined) out.sandbox = i.sandbox;
    return out;
  });
  const ips = result.ips.map((ip) => (version === "0.4.0" ? { version: "4", ...ip } : { ...ip }));
  return { cniVersion: version, interfaces, ips, routes: result.routes.map((r) => ({ ...r })), dns: { ...result.dns } };
}

export function encodeVersion(version: string): Record<string, unknown> {
  return { cniVersion: version, supportedVersions: [...SUPPORTED_VERSIONS] };
}

export function encodeError(error: CniError, version: string): Record<string, unknown> {
  const out: Record<string, unknown> = { cniVersion: version, code: error.code, msg: error.message };
  if (error.details) out.details = error.details;
  return out;
}

/**
 * Reads a `prevResult` handed back by the runtime (for CHECK, DEL, or ADD after another plugin).
 * Only the fields this plugin relies on are checked; anything else is kept as it came.
 */
export function decodeResult(raw: unknown, version: string): CniResult {
  const bad = (why: string): never => {
    throw new CniError(ErrorCode.InvalidConfig, `invalid prevResult: ${why}`, JSON.stringify(raw));
  };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return bad("not a JSON object");
  const r = raw as Record<string, unknown>;
  const list = (key: string): Record<string, unknown>[] => {
    const v = r[key];
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every((e) => typeof e === "object" && e !== null)) return bad(`"${key}" is not a list of objects`);
    return v as Record<string, unknown>[];
  };
  const interfaces = list("interfaces").map((i, n): CniInterface => {
    if (typeof i.name !== "string") return bad(`interfaces[${n}].name is ${JSON.stringify(i.name)}`);
    return { ...i, name: i.name } as CniInterface;
  });
  const ips = list("ips").map((ip, n): CniIpConfig => {
    if (typeof ip.address !== "string") return bad(`ips[${n}].address is ${JSON.stringify(ip.address)}`);
    if (ip.interface !== undefined && (!Number.isInteger(ip.interface) || (ip.interface as number) < 0)) {
      return bad(`ips[${n}].interface is ${JSON.stringify(ip.interface)}`);
    }
    const { version: _v, ...rest } = ip;
    return rest as unknown as CniIpConfig;
  });
  const routes = list("routes").map((rt, n): CniRoute => {
    if (typeof rt.dst !== "string") return bad(`routes[${n}].dst is ${JSON.stringify(rt.dst)}`);
    return { ...rt } as unknown as CniRoute;
  });
  const dns = typeof r.dns === "object" && r.dns !== null ? (r.dns as CniDns) : {};
  return { cniVersion: version, interfaces, ips, routes, dns };
}
