import { constants } from "node:fs";
import { access } from "node:fs/promises";
import { join } from "node:path";
import { run } from "../util/exec.js";
import { isIpv4 } from "../util/ipv4.js";

/**
 * The runtime's side of the CNI protocol, as a container runtime speaks it: the plugin executable
 * `<dir from CNI_PATH>/<config type>`, one process per command, the CNI_* variables in its
 * environment, the network configuration on stdin, the result or the spec's error object on
 * stdout, success told by the exit code.
 */

/** The network configuration streamed to the plugin; `type` names the plugin executable. */
export interface CniNetworkConfig {
  readonly cniVersion: string;
  readonly name: string;
  readonly type: string;
  readonly [field: string]: unknown;
}

export interface CniSettings {
  /** Directories searched for the plugin, in order; passed on as CNI_PATH. */
  readonly binDirs: readonly string[];
  readonly netConfig: CniNetworkConfig;
  /** The pod's interface name (CNI_IFNAME); default eth0. */
  readonly ifName?: string;
  /**
   * Run the plugin inside this named namespace. Unset when the caller already runs inside the
   * node's namespace (the lab's pod runner does); tests that drive a node from outside set it.
   */
  readonly nodeNetns?: string;
  /** Kill a plugin that has not answered after this long (default 60 s, twice the agent's own timeout). */
  readonly timeoutMs?: number;
}

/** One pod attachment: what the runtime tells the plugin about the pod. */
export interface CniAttachmentRef {
  readonly containerId: string;
  /** CNI_NETNS: a path, e.g. /run/netns/trl-c1-pod-0a1b2c3d. */
  readonly netnsPath: string;
  readonly podNamespace: string;
  readonly podName: string;
}

export interface CniAddResult {
  /** The pod's IPv4 address, without prefix length. */
  readonly ip: string;
  /** The result exactly as the plugin printed it: handed back as prevResult on DEL. */
  readonly result: Record<string, unknown>;
}

/** The trellis network configuration for an agent listening on `agentSocket`. */
export function trellisNetConfig(agentSocket: string): CniNetworkConfig {
  return { cniVersion: "1.0.0", name: "trellis", type: "trellis-cni", agentSocket };
}

/** A CNI invocation failed: the plugin's error object (code, msg, details) or why there was none. */
export class CniInvocationError extends Error {
  constructor(
    readonly command: string,
    /** The spec's error code when the plugin printed an error object. */
    readonly code: number | undefined,
    message: string,
    readonly details?: string,
  ) {
    super(message);
    this.name = "CniInvocationError";
  }

  /** Code 11 ("try again later"): e.g. the agent is not running yet. */
  get tryAgainLater(): boolean {
    return this.code === 11;
  }
}

export class CniSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CniSettingsError";
  }
}

const DEFAULT_TIMEOUT_MS = 60_000;

export class CniRuntime {
  private readonly ifName: string;
  private readonly timeoutMs: number;

  constructor(private readonly settings: CniSettings) {
    const { netConfig, binDirs } = settings;
    if (typeof netConfig?.type !== "string" || netConfig.type === "" || netConfig.type.includes("/")) {
      throw new CniSettingsError(`CNI network config "type" is ${JSON.stringify(netConfig?.type)}; expected the plugin's file name, e.g. "trellis-cni"`);
    }
    if (typeof netConfig.cniVersion !== "string" || typeof netConfig.name !== "string") {
      throw new CniSettingsError(`CNI network config needs string "cniVersion" and "name" (got ${JSON.stringify(netConfig)})`);
    }
    if (binDirs.length === 0 || binDirs.some((d) => !d.startsWith("/") || d.includes(":"))) {
      throw new CniSettingsError(`CNI plugin directories must be absolute paths without ":" (got ${JSON.stringify(binDirs)})`);
    }
    this.ifName = settings.ifName ?? "eth0";
    this.timeoutMs = settings.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  get pluginType(): string {
    return this.settings.netConfig.type;
  }

  async add(ref: CniAttachmentRef): Promise<CniAddResult> {
    const stdout = await this.invoke("ADD", ref, this.settings.netConfig);
    let result: unknown;
    try {
      result = JSON.parse(stdout);
    } catch {
      throw new CniInvocationError("ADD", undefined, `${this.pluginType} ADD succeeded but printed no JSON result: ${JSON.stringify(stdout.slice(0, 300))}`);
    }
    if (typeof result !== "object" || result === null || Array.isArray(result)) {
      throw new CniInvocationError("ADD", undefined, `${this.pluginType} ADD printed ${JSON.stringify(result)}, not a result object`);
    }
    const record = result as Record<string, unknown>;
    return { ip: podIp(record, ref.netnsPath, this.ifName), result: record };
  }

  /** `prevResult` is the ADD's result when there was one; DEL succeeds for attachments that are already gone. */
  async del(ref: CniAttachmentRef, prevResult?: unknown): Promise<void> {
    const config = prevResult === undefined ? this.settings.netConfig : { ...this.settings.netConfig, prevResult };
    await this.invoke("DEL", ref, config);
  }

  private async invoke(command: "ADD" | "DEL", ref: CniAttachmentRef, config: CniNetworkConfig): Promise<string> {
    const plugin = await this.findPlugin(command);
    const env = {
      CNI_COMMAND: command,
      CNI_CONTAINERID: ref.containerId,
      CNI_NETNS: ref.netnsPath,
      CNI_IFNAME: this.ifName,
      CNI_ARGS: `K8S_POD_NAMESPACE=${ref.podNamespace};K8S_POD_NAME=${ref.podName}`,
      CNI_PATH: this.settings.binDirs.join(":"),
    };
    const [cmd, args] = this.settings.nodeNetns ? ["ip", ["netns", "exec", this.settings.nodeNetns, plugin]] : [plugin, []];
    const started = Date.now();
    const r = await run(cmd, args, { env, input: JSON.stringify(config), timeoutMs: this.timeoutMs, allowFailure: true });
    if (r.code === 0) return r.stdout;
    if (Date.now() - started >= this.timeoutMs) {
      throw new CniInvocationError(command, undefined, `${this.pluginType} ${command} for container ${ref.containerId} did not finish within ${this.timeoutMs} ms and was killed`);
    }
    throw errorFromOutput(command, this.pluginType, r.code, r.stdout, r.stderr);
  }

  private async findPlugin(command: string): Promise<string> {
    for (const dir of this.settings.binDirs) {
      const candidate = join(dir, this.pluginType);
      try {
        await access(candidate, constants.X_OK);
        return candidate;
      } catch {
        /* look in the next directory, as runtimes do */
      }
    }
    throw new CniInvocationError(
      command,
      undefined,
      `CNI plugin "${this.pluginType}" not found (or not executable) in CNI_PATH ${this.settings.binDirs.join(":")}; install it there or fix the pod runner's CNI directory`,
    );
  }
}

function errorFromOutput(command: string, type: string, exitCode: number, stdout: string, stderr: string): CniInvocationError {
  let parsed: { code?: unknown; msg?: unknown; details?: unknown } | undefined;
  try {
    parsed = JSON.parse(stdout) as typeof parsed;
  } catch {
    parsed = undefined;
  }
  if (parsed && typeof parsed.code === "number") {
    const msg = typeof parsed.msg === "string" ? parsed.msg : "(no message)";
    const details = typeof parsed.details === "string" ? parsed.details : undefined;
    return new CniInvocationError(command, parsed.code, `${type} ${command} failed with code ${parsed.code}: ${msg}`, details);
  }
  const why = lastLines(stderr) || lastLines(stdout) || "no output";
  return new CniInvocationError(command, undefined, `${type} ${command} exited with ${exitCode} without an error object: ${why}`);
}

function lastLines(text: string): string {
  return text.trim().split("\n").slice(-3).join(" | ").slice(0, 500);
}

/** The address the result gives the pod's interface; the spec links IPs to interfaces by index. */
function podIp(result: Record<string, unknown>, sandbox: string, ifName: string): string {
  const interfaces = Array.isArray(result.interfaces) ? (result.interfaces as { name?: unknown; sandbox?: unknown }[]) : [];
  const ips = Array.isArray(result.ips) ? (result.ips as { address?: unknown; interface?: unknown }[]) : [];
  const podIndex = interfaces.findIndex((i) => i?.name === ifName && i?.sandbox === sandbox);
  const candidates = ips
    .filter((ip) => podIndex < 0 || ip?.interface === undefined || ip.interface === podIndex)
    .map((ip) => (typeof ip?.address === "string" ? ip.address.split("/")[0] ?? "" : ""))
    .filter(isIpv4);
  const ip = candidates[0];
  if (!ip) throw new CniInvocationError("ADD", undefined, `the ADD result names no IPv4 address for ${ifName} in ${sandbox}: ${JSON.stringify(result).slice(0, 500)}`);
  return ip;
}
