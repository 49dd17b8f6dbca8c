import { readFileSync, statSync } from "node:fs";

/** Checking on and stopping the detached responder process, by PID alone (it outlives its starter). */

/** Alive and not a zombie (a killed child its parent has not reaped still answers signal 0). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) [ZX]/s.test(stat);
  } catch {
    return false;
  }
}

/**
 * Whether `pid` lives in the network namespace bound at `netnsPath`. Guards against PID reuse: a
 * recycled PID belongs to some process that is, in practice, never in the endpoint's namespace.
 */
export function inNetns(pid: number, netnsPath: string): boolean {
  try {
    const mine = statSync(`/proc/${pid}/ns/net`);
    const ns = statSync(netnsPath);
    return mine.ino === ns.ino && mine.dev === ns.dev;
  } catch {
    return false;
  }
}

/** Whether the process's command line contains `args` in a row (to recognise our own process by PID). */
export function commandLineHas(pid: number, args: readonly string[]): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return argv.some((_, i) => args.every((a, j) => argv[i + j] === a));
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL what is left after `graceMs`; resolves once all are gone (or 2 s after the SIGKILL). */
export async function terminate(pids: readonly number[], graceMs: number): Promise<void> {
  const signal = (pid: number, sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  };
  for (const pid of pids) signal(pid, "SIGTERM");
  await until(() => !pids.some(isAlive), graceMs);
  for (const pid of pids.filter(isAlive)) signal(pid, "SIGKILL");
  await until(() => !pids.some(isAlive), 2000);
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

/**
 * Whether a process in the namespace listens on ip:port, read from /proc/<pid>/net/tcp (which shows
 * the sockets of that process's network namespace) without entering it.
 */
export function listensOn(pid: number, ip: string, port: number): boolean {
  let table: string;
  try {
    table = readFileSync(`/proc/${pid}/net/tcp`, "utf8");
  } catch {
    return false;
  }
  // The kernel prints the address as the raw 32-bit word in host byte order, the port in big endian.
  const octets = ip.split(".").map(Number);
  const raw = Buffer.from(octets).readUInt32LE(0).toString(16).toUpperCase().padStart(8, "0");
  const local = `${raw}:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  const any = `00000000:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  const LISTEN = "0A";
  return table
    .split("\n")
    .slice(1)
    .some((line) => {
      const f = line.trim().split(/\s+/);
      return (f[1] === local || f[1] === any) && f[3] === LISTEN;
    });
}
