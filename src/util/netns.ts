import { existsSync } from "node:fs";
import { run } from "./exec.js";

/** Where `ip netns` binds named network namespaces. */
export const NETNS_DIR = "/run/netns";

/** The path of a named namespace: what `nsenter --net=` and CNI_NETNS take. */
export function netnsPath(name: string): string {
  return `${NETNS_DIR}/${name}`;
}

/** PIDs of the processes inside the named namespace (none when it does not exist). */
export async function netnsPids(name: string): Promise<number[]> {
  if (!existsSync(netnsPath(name))) return [];
  const r = await run("ip", ["netns", "pids", name], { allowFailure: true });
  return r.stdout
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
}
