import { run, runJson } from "../util/exec.js";
import { netnsPids } from "../util/netns.js";

export { netnsPids };

/** Named network namespaces (/run/netns/NAME) and the processes inside them. */

export async function listNetns(): Promise<string[]> {
  const rows = await runJson<{ name: string }[]>("ip", ["-j", "netns", "list"]);
  return rows.map((r) => r.name);
}

export async function ensureNetns(name: string, existing?: ReadonlySet<string>): Promise<boolean> {
  const have = existing ?? new Set(await listNetns());
  if (have.has(name)) return false;
  await run("ip", ["netns", "add", name]);
  await run("ip", ["-n", name, "link", "set", "lo", "up"]);
  return true;
}


function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL whatever is left after `graceMs`; resolves when all are gone. */
export async function killPids(pids: readonly number[], graceMs = 3000): Promise<void> {
  const signal = (sig: NodeJS.Signals, p: number) => {
    try {
      process.kill(p, sig);
    } catch {
      /* already gone */
    }
  };
  for (const p of pids) signal("SIGTERM", p);
  const deadline = Date.now() + graceMs;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const p of pids.filter(alive)) signal("SIGKILL", p);
  const hardDeadline = Date.now() + 2000;
  while (pids.some(alive) && Date.now() < hardDeadline) await new Promise((r) => setTimeout(r, 20));
}

/** Stops every process in the namespace, then deletes it (its veths go with it). */
export async function deleteNetns(name: string): Promise<void> {
  await killPids(await netnsPids(name));
  await run("ip", ["netns", "del", name], { allowFailure: true });
}
