import { randomBytes } from "node:crypto";
import { open, readFile, stat, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { IpamLockTimeoutError } from "./errors.js";

/**
 * A cross-process mutex made of a lock file created with O_EXCL (Node has no flock). The file
 * names its holder (pid, host, a random token) so that a lock left by a crashed process can be
 * recognised and broken: a holder on this host whose pid no longer exists is dead.
 *
 * Breaking is itself guarded by a second O_EXCL file: without it two waiters could both see the
 * same dead holder, one would take the lock, and the other would then delete that fresh lock.
 */

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly token: string;
  readonly acquiredAt: string;
}

export interface FileLockOptions {
  /** Give up after this long (default 10 s); the error names the holder. */
  readonly timeoutMs?: number;
}

/** A lock file whose content is still unreadable after this long was left by a creator that died mid-write. */
const UNWRITTEN_LOCK_STALE_MS = 5_000;
/** Breaking a lock takes microseconds; a breaker file this old was left by a process that died while breaking. */
const BREAKER_STALE_MS = 5_000;

/** Runs `fn` while holding the lock at `lockPath`, releasing it afterwards even when `fn` throws. */
export async function withFileLock<T>(lockPath: string, fn: () => Promise<T>, options: FileLockOptions = {}): Promise<T> {
  const token = await acquire(lockPath, options.timeoutMs ?? 10_000);
  try {
    return await fn();
  } finally {
    await release(lockPath, token);
  }
}

async function acquire(lockPath: string, timeoutMs: number): Promise<string> {
  const me: LockOwner = { pid: process.pid, host: hostname(), token: randomBytes(8).toString("hex"), acquiredAt: new Date().toISOString() };
  const deadline = Date.now() + timeoutMs;
  let pause = 1;
  for (;;) {
    if (await tryCreate(lockPath, JSON.stringify(me))) return me.token;
    const holder = await readHolder(lockPath);
    if (holder !== "gone" && (await isStale(lockPath, holder))) {
      await breakStaleLock(lockPath, holder);
      continue;
    }
    if (holder === "gone") continue;
    if (Date.now() >= deadline) {
      const who = holder === "unreadable" ? "a process that has not finished writing it" : `pid ${holder.pid} on ${holder.host} since ${holder.acquiredAt}`;
      throw new IpamLockTimeoutError(
        `timed out after ${timeoutMs} ms waiting for lock ${lockPath}, held by ${who}; ` +
          `if that process is stuck, stop it (a lock of a dead process is taken over automatically)`,
      );
    }
    await sleep(pause);
    pause = Math.min(pause * 2, 25);
  }
}

async function tryCreate(path: string, content: string): Promise<boolean> {
  let fh;
  try {
    fh = await open(path, "wx", 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  }
  try {
    await fh.writeFile(content);
  } finally {
    await fh.close();
  }
  return true;
}

async function readHolder(lockPath: string): Promise<LockOwner | "unreadable" | "gone"> {
  let text: string;
  try {
    text = await readFile(lockPath, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "gone";
    throw e;
  }
  try {
    const v = JSON.parse(text) as Partial<LockOwner>;
    if (typeof v.pid === "number" && typeof v.host === "string" && typeof v.token === "string") return v as LockOwner;
  } catch {
    /* being written, or torn by a crash: decided by age below */
  }
  return "unreadable";
}

async function isStale(lockPath: string, holder: LockOwner | "unreadable"): Promise<boolean> {
  if (holder === "unreadable") return (await ageMs(lockPath)) > UNWRITTEN_LOCK_STALE_MS;
  // A holder on another host (shared filesystem) cannot be probed: wait for it instead.
  if (holder.host !== hostname()) return false;
  return !processAlive(holder.pid);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the pid exists but belongs to someone else, so it is alive.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function ageMs(path: string): Promise<number> {
  try {
    return Date.now() - (await stat(path)).mtimeMs;
  } catch {
    return 0;
  }
}

async function breakStaleLock(lockPath: string, stale: LockOwner | "unreadable"): Promise<void> {
  const breaker = `${lockPath}.break`;
  if (!(await tryCreate(breaker, String(process.pid)))) {
    if ((await ageMs(breaker)) > BREAKER_STALE_MS) await unlinkIfPresent(breaker);
    else await sleep(1);
    return;
  }
  try {
    // Re-read under the breaker: the lock may have been broken and retaken since we looked.
    const now = await readHolder(lockPath);
    const same =
      now === "unreadable"
        ? (await ageMs(lockPath)) > UNWRITTEN_LOCK_STALE_MS
        : now !== "gone" && stale !== "unreadable" && now.token === stale.token;
    if (same) await unlinkIfPresent(lockPath);
  } finally {
    await unlinkIfPresent(breaker);
  }
}

async function release(lockPath: string, token: string): Promise<void> {
  const holder = await readHolder(lockPath);
  // Only remove our own lock: if it was broken (our pid looked dead, e.g. after pid reuse), it is no longer ours.
  if (holder !== "gone" && holder !== "unreadable" && holder.token === token) await unlinkIfPresent(lockPath);
}

async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
}
