import { existsSync } from "node:fs";
import { run } from "../util/exec.js";
import { NETNS_DIR, netnsPath, netnsPids } from "../util/netns.js";

/** Named network namespaces (`ip netns`, bound under /run/netns) for the health endpoint. */

export { NETNS_DIR, netnsPath, netnsPids };

/** Whether the name is bound to a namespace that can be entered (a stale file after a crash is not). */
export async function netnsUsable(name: string): Promise<boolean> {
  if (!existsSync(netnsPath(name))) return false;
  const r = await run("nsenter", [`--net=${netnsPath(name)}`, "true"], { allowFailure: true });
  return r.code === 0;
}

/** Creates the namespace with `lo` up unless a usable one has that name; true when it was created. */
export async function ensureNetns(name: string): Promise<boolean> {
  if (await netnsUsable(name)) return false;
  // A name bound to nothing usable (left by a crash) would make `ip netns add` fail with "File exists".
  if (existsSync(netnsPath(name))) await run("ip", ["netns", "del", name], { allowFailure: true });
  await run("ip", ["netns", "add", name]);
  await run("ip", ["-n", name, "link", "set", "dev", "lo", "up"]);
  return true;
}


/** Deletes the namespace (its interfaces go with it); a missing one is not an error. */
export async function deleteNetns(name: string): Promise<void> {
  if (!existsSync(netnsPath(name))) return;
  const r = await run("ip", ["netns", "del", name], { allowFailure: true });
  if (r.code !== 0 && existsSync(netnsPath(name))) throw new Error(`cannot delete network namespace ${name}: ${r.stderr.trim() || `exit ${r.code}`}`);
}
