import { isIpv4 } from "../util/ipv4.js";
import { CniError, ErrorCode, isSupportedVersion, SUPPORTED_VERSIONS, type CniDns, type CniVersion } from "./result.js";

/**
 * The network configuration the runtime streams on stdin, e.g.
 * `{"cniVersion":"1.0.0","name":"trellis","type":"trellis-cni","agentSocket":"/var/run/trellis/agent.sock"}`.
 * Fields this plugin does not know (args, runtimeConfig, capabilities, ...) are ignored, as the
 * spec allows.
 */
export interface NetConfig {
  readonly cniVersion: CniVersion;
  readonly name: string;
  readonly type: string;
  /** The agent's local API socket. */
  readonly agentSocket: string;
  /** How long one agent request may take; endpoint registration waits for identity and datapath. */
  readonly agentTimeoutMs: number;
  /** Passed through into the ADD result. */
  readonly dns: CniDns;
  /** The previous ADD's result, raw (CHECK and DEL; ADD when chained after another plugin). */
  readonly prevResult: unknown;
  /** GC only: the attachments the runtime still knows. */
  readonly validAttachments: readonly { readonly containerId: string; readonly ifName: string }[] | undefined;
}

export const DEFAULT_AGENT_SOCKET = "/var/run/trellis/agent.sock";
export const DEFAULT_AGENT_TIMEOUT_SECONDS = 30;
const NETWORK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Parses and validates stdin. Codes: 6 when it is not JSON, 1 for an unsupported version, 7 for the rest. */
export function parseNetConfig(stdin: string): NetConfig {
  const raw = decode(stdin);
  const version = raw.cniVersion;
  if (version === undefined) invalid(`"cniVersion" is missing (supported: ${SUPPORTED_VERSIONS.join(", ")})`);
  if (!isSupportedVersion(version)) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `incompatible CNI version ${JSON.stringify(version)}`,
      `trellis-cni supports ${SUPPORTED_VERSIONS.join(", ")}`,
    );
  }
  const name = raw.name;
  if (typeof name !== "string" || !NETWORK_NAME.test(name)) {
    invalid(`"name" is ${JSON.stringify(name)}; it must start with a letter or digit and contain only letters, digits, "_", "." and "-"`);
  }
  const type = raw.type;
  if (typeof type !== "string" || type === "") invalid(`"type" is ${JSON.stringify(type)}; expected the plugin's name, "trellis-cni"`);

  const agentSocket = raw.agentSocket ?? DEFAULT_AGENT_SOCKET;
  if (typeof agentSocket !== "string" || !agentSocket.startsWith("/")) {
    invalid(`"agentSocket" is ${JSON.stringify(raw.agentSocket)}; expected the absolute path of the agent's unix socket, e.g. ${DEFAULT_AGENT_SOCKET}`);
  }
  const timeout = raw.agentTimeoutSeconds ?? DEFAULT_AGENT_TIMEOUT_SECONDS;
  if (typeof timeout !== "number" || !(timeout > 0 && timeout <= 600)) {
    invalid(`"agentTimeoutSeconds" is ${JSON.stringify(raw.agentTimeoutSeconds)}; expected a number of seconds between 0 and 600`);
  }

  return {
    cniVersion: version,
    name,
    type,
    agentSocket,
    agentTimeoutMs: Math.round(timeout * 1000),
    dns: parseDns(raw.dns),
    prevResult: raw.prevResult,
    validAttachments: parseValidAttachments(raw["cni.dev/valid-attachments"]),
  };
}

/** The version a failed request should be answered in: the config's own when it is readable and supported. */
export function peekVersion(stdin: string): CniVersion | undefined {
  try {
    const v = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion;
    return isSupportedVersion(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

function decode(stdin: string): Record<string, unknown> {
  if (stdin.trim() === "") {
    throw new CniError(ErrorCode.DecodeFailure, "no network configuration on stdin", "the runtime must stream the network configuration JSON to the plugin's standard input");
  }
  let raw: unknown;
  try {
    raw = JSON.parse(stdin);
  } catch (e) {
    throw new CniError(ErrorCode.DecodeFailure, `network configuration is not valid JSON: ${(e as Error).message}`, truncate(stdin));
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new CniError(ErrorCode.DecodeFailure, "network configuration is not a JSON object", truncate(stdin));
  }
  return raw as Record<string, unknown>;
}

function parseDns(raw: unknown): CniDns {
  if (raw === undefined) return {};
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) invalid(`"dns" is ${JSON.stringify(raw)}; expected an object`);
  const d = raw as Record<string, unknown>;
  const strings = (key: string): string[] | undefined => {
    const v = d[key];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((s) => typeof s === "string")) invalid(`"dns.${key}" is ${JSON.stringify(v)}; expected a list of strings`);
    return v as string[];
  };
  const out: CniDns = {};
  const nameservers = strings("nameservers");
  if (nameservers) {
    const bad = nameservers.find((n) => !isIpv4(n) && !n.includes(":"));
    if (bad !== undefined) invalid(`"dns.nameservers" has ${JSON.stringify(bad)}, which is not an IP address`);
    out.nameservers = nameservers;
  }
  if (d.domain !== undefined) {
    if (typeof d.domain !== "string") invalid(`"dns.domain" is ${JSON.stringify(d.domain)}; expected a string`);
    out.domain = d.domain;
  }
  const search = strings("search");
  if (search) out.search = search;
  const options = strings("options");
  if (options) out.options = options;
  return out;
}

function parseValidAttachments(raw: unknown): NetConfig["validAttachments"] {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw)) invalid(`"cni.dev/valid-attachments" is ${JSON.stringify(raw)}; expected a list of {containerID, ifname}`);
  return raw.map((a, n) => {
    const e = a as Record<string, unknown> | null;
    if (!e || typeof e.containerID !== "string" || typeof e.ifname !== "string") {
      invalid(`"cni.dev/valid-attachments"[${n}] is ${JSON.stringify(a)}; expected {"containerID": string, "ifname": string}`);
    }
    return { containerId: e.containerID, ifName: e.ifname };
  });
}

function invalid(message: string): never {
  throw new CniError(ErrorCode.InvalidConfig, `invalid network configuration: ${message}`);
}

function truncate(text: string): string {
  return text.length > 500 ? `${text.slice(0, 500)}...` : text;
}
