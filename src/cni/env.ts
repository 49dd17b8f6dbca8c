import { CniError, ErrorCode } from "./result.js";

/**
 * The CNI execution protocol's environment variables, validated per command as the spec requires
 * (ADD and CHECK need a netns; DEL may come without one; VERSION, STATUS and GC need no container).
 */

export const COMMANDS = ["ADD", "DEL", "CHECK", "VERSION", "STATUS", "GC"] as const;
export type CniCommand = (typeof COMMANDS)[number];

export interface CniEnv {
  readonly command: CniCommand;
  readonly containerId: string;
  readonly ifName: string;
  /** Path of the pod's network namespace; "" when the runtime gave none (allowed for DEL). */
  readonly netns: string;
  /** CNI_ARGS as key/value pairs. */
  readonly args: Readonly<Record<string, string>>;
  readonly path: readonly string[];
}

/** What the runtime tells us about the pod (Kubernetes runtimes pass these in CNI_ARGS). */
export interface PodRef {
  readonly namespace: string;
  readonly name: string;
}

const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Reads CNI_COMMAND alone: it decides which other variables are needed. */
export function parseCommand(env: NodeJS.ProcessEnv): CniCommand {
  const raw = env.CNI_COMMAND;
  if (raw === undefined || raw === "") {
    throw new CniError(ErrorCode.InvalidEnvironment, "CNI_COMMAND is not set", `expected one of ${COMMANDS.join(", ")}`);
  }
  if (!(COMMANDS as readonly string[]).includes(raw)) {
    throw new CniError(ErrorCode.InvalidEnvironment, `CNI_COMMAND "${raw}" is not a CNI command`, `expected one of ${COMMANDS.join(", ")}`);
  }
  return raw as CniCommand;
}

/** Validates the variables `command` needs; every problem is listed, each naming its variable. */
export function parseCniEnv(env: NodeJS.ProcessEnv): CniEnv {
  const command = parseCommand(env);
  const needsContainer = command === "ADD" || command === "DEL" || command === "CHECK";
  const needsNetns = command === "ADD" || command === "CHECK";
  const problems: string[] = [];

  const containerId = env.CNI_CONTAINERID ?? "";
  if (needsContainer) {
    if (containerId === "") problems.push("CNI_CONTAINERID is not set");
    else if (!CONTAINER_ID.test(containerId)) {
      problems.push(`CNI_CONTAINERID "${containerId}" must start with a letter or digit and contain only letters, digits, "_", "." and "-"`);
    }
  }

  const ifName = env.CNI_IFNAME ?? "";
  if (needsContainer) {
    const why = interfaceNameProblem(ifName);
    if (why) problems.push(`CNI_IFNAME ${why}`);
  }

  const netns = env.CNI_NETNS ?? "";
  if (needsNetns && netns === "") problems.push(`CNI_NETNS is not set (${command} needs the pod's network namespace path)`);
  else if (netns !== "" && !netns.startsWith("/")) problems.push(`CNI_NETNS "${netns}" is not an absolute path (e.g. /var/run/netns/pod1 or /proc/1234/ns/net)`);

  let args: Record<string, string> = {};
  try {
    args = parseCniArgs(env.CNI_ARGS ?? "");
  } catch (e) {
    problems.push((e as Error).message);
  }

  if (problems.length) {
    throw new CniError(ErrorCode.InvalidEnvironment, `invalid environment: ${problems.join("; ")}`);
  }
  const path = (env.CNI_PATH ?? "").split(":").filter((p) => p !== "");
  return { command, containerId, ifName, netns, args, path };
}

/** Linux interface-name rules as the spec words them: 1-15 bytes, not "." or "..", no "/", ":" or whitespace. */
function interfaceNameProblem(name: string): string | undefined {
  if (name === "") return "is not set";
  if (name === "." || name === "..") return `"${name}" is not a valid interface name`;
  if (Buffer.byteLength(name) > 15) return `"${name}" is longer than 15 bytes`;
  if (/[/:\s]/.test(name)) return `"${name}" contains "/", ":" or whitespace`;
  return undefined;
}

/**
 * Parses CNI_ARGS ("K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;IgnoreUnknown=1"). Values may
 * contain "=" (only the first one splits); empty segments (a trailing ";") are ignored.
 */
export function parseCniArgs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(";")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    if (eq <= 0) throw new Error(`CNI_ARGS "${text}" has "${part}", which is not KEY=VALUE`);
    out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

export function podRef(env: CniEnv): PodRef {
  return { namespace: env.args.K8S_POD_NAMESPACE ?? "", name: env.args.K8S_POD_NAME ?? "" };
}

/** The IPAM owner of one attachment: the spec identifies an attachment by (container ID, interface name). */
export function attachmentOwner(containerId: string, ifName: string): string {
  return `${containerId}/${ifName}`;
}
