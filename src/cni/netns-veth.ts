import { createHash } from "node:crypto";
import { stat } from "node:fs/promises";
import { CommandError, run, runJson } from "../util/exec.js";
import { CniError, ErrorCode } from "./result.js";

/**
 * The pod's wiring, per the pod addressing contract (docs/agent-api.md): a veth pair whose host end
 * is named from the container ID and carries no address, and whose pod end is CNI_IFNAME with
 * `<ip>/32`, a link route to the node's router IP and a default route via it.
 *
 * `ip -n` only takes named namespaces, and CNI_NETNS is a path, so commands inside the pod run
 * under `nsenter --net=PATH`; `ip link add ... netns PATH` takes a path directly.
 */

/** The host end's name: "trl" + 11 hex digits of sha256(containerID), 14 bytes (the kernel allows 15). */
export function hostVethName(containerId: string): string {
  return `trl${createHash("sha256").update(containerId).digest("hex").slice(0, 11)}`;
}

/** Marks host veths as ours and names their attachment, for `ip link` readers and for GC after a crash. */
const ALIAS_PREFIX = "trellis:";

export function hostVethAlias(owner: string): string {
  return `${ALIAS_PREFIX}${owner}`.slice(0, 255);
}

/** The attachment a host veth was made for, when it carries our alias. */
export function hostVethOwner(link: { ifalias?: string }): string | undefined {
  return link.ifalias?.startsWith(ALIAS_PREFIX) ? link.ifalias.slice(ALIAS_PREFIX.length) : undefined;
}

export interface PodVethSpec {
  readonly netns: string;
  readonly podIfName: string;
  readonly hostIfName: string;
  readonly ip: string;
  readonly routerIp: string;
  readonly mtu: number;
  /** Written as the host veth's alias. */
  readonly owner: string;
}

export interface PodVeth {
  readonly hostMac: string;
  readonly podMac: string;
}

interface IpLink {
  ifname: string;
  address?: string;
  mtu?: number;
  flags?: string[];
  ifalias?: string;
  linkinfo?: { info_kind?: string };
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  scope?: string;
}

/** Fails with code 101 unless `path` is a network namespace we can enter. */
export async function assertNetns(path: string): Promise<void> {
  try {
    await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "does not exist" : `cannot be opened (${code ?? (e as Error).message})`;
    throw new CniError(ErrorCode.NetnsUnusable, `network namespace ${path} (CNI_NETNS) ${why}`);
  }
  const r = await run("nsenter", [`--net=${path}`, "true"], { allowFailure: true });
  if (r.code !== 0) {
    throw new CniError(ErrorCode.NetnsUnusable, `cannot enter network namespace ${path} (CNI_NETNS): ${r.stderr.trim() || `exit ${r.code}`}`);
  }
}

/**
 * Creates and configures the pair. On failure, removes what it made (deleting the host end takes the
 * pod end with it) and throws. The pair is created in one netlink request, so when either name is
 * taken nothing is created and the existing interface is left alone.
 */
export async function createPodVeth(spec: PodVethSpec): Promise<PodVeth> {
  const mtu = String(spec.mtu);
  await wiring(() =>
    run("ip", ["link", "add", spec.hostIfName, "mtu", mtu, "type", "veth", "peer", "name", spec.podIfName, "mtu", mtu, "netns", spec.netns]),
  );
  try {
    await wiring(() => run("ip", ["link", "set", "dev", spec.hostIfName, "alias", hostVethAlias(spec.owner), "up"]));
    const batch = [
      "link set dev lo up",
      `addr add ${spec.ip}/32 dev ${spec.podIfName}`,
      `link set dev ${spec.podIfName} up`,
      `route add ${spec.routerIp}/32 dev ${spec.podIfName} scope link`,
      `route add default via ${spec.routerIp} dev ${spec.podIfName}`,
    ];
    await wiring(() => run("nsenter", [`--net=${spec.netns}`, "ip", "-batch", "-"], { input: `${batch.join("\n")}\n` }));
    const host = await readLink(undefined, spec.hostIfName);
    const pod = await readLink(spec.netns, spec.podIfName);
    if (!host?.address || !pod?.address) {
      throw new CniError(ErrorCode.NetworkSetupFailed, `veth ${spec.hostIfName}/${spec.podIfName} vanished while it was being set up`);
    }
    return { hostMac: host.address, podMac: pod.address };
  } catch (e) {
    await deleteLink(undefined, spec.hostIfName).catch(() => undefined);
    throw e;
  }
}

/** Deletes an interface; returns false when it was not there. `netns` undefined means the host. */
export async function deleteLink(netns: string | undefined, name: string): Promise<boolean> {
  const r = await run(...inNetns(netns, ["link", "del", "dev", name]), { allowFailure: true });
  if (r.code === 0) return true;
  if (/cannot find device|does not exist/i.test(r.stderr)) return false;
  throw new CniError(ErrorCode.NetworkSetupFailed, `cannot delete interface ${name}${netns ? ` in ${netns}` : ""}: ${r.stderr.trim()}`);
}

/** One interface with its addresses, or undefined when it does not exist. */
export async function readLink(netns: string | undefined, name: string): Promise<IpLink | undefined> {
  const [cmd, args] = inNetns(netns, ["-j", "-d", "addr", "show", "dev", name]);
  const r = await run(cmd, args, { allowFailure: true });
  if (r.code !== 0) {
    if (/does not exist|cannot find device/i.test(r.stderr)) return undefined;
    throw new CniError(ErrorCode.NetworkSetupFailed, `cannot read interface ${name}${netns ? ` in ${netns}` : ""}: ${r.stderr.trim()}`);
  }
  const links = JSON.parse(r.stdout || "[]") as IpLink[];
  return links[0];
}

/** IPv4 routes of the main table (`netns` undefined: the host's). */
export async function readRoutes(netns: string | undefined): Promise<IpRoute[]> {
  const [cmd, args] = inNetns(netns, ["-j", "-4", "route", "show", "table", "main"]);
  return runJson<IpRoute[]>(cmd, args);
}

/** Host veths this plugin made, with the attachment ("<containerID>/<ifName>") each belongs to. */
export async function listHostVeths(): Promise<{ name: string; owner: string }[]> {
  const links = await runJson<IpLink[]>("ip", ["-j", "-d", "link", "show", "type", "veth"]);
  return links.flatMap((l) => {
    const owner = l.ifname.startsWith("trl") ? hostVethOwner(l) : undefined;
    return owner === undefined ? [] : [{ name: l.ifname, owner }];
  });
}

export type { IpLink, IpRoute };

function inNetns(netns: string | undefined, ipArgs: string[]): [string, string[]] {
  return netns ? ["nsenter", [`--net=${netns}`, "ip", ...ipArgs]] : ["ip", ipArgs];
}

async function wiring<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (e) {
    if (e instanceof CommandError) throw new CniError(ErrorCode.NetworkSetupFailed, `setting up the pod's veth failed: ${e.message}`, undefined, { cause: e });
    throw e;
  }
}
