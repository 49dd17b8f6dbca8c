import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { IpamLockTimeoutError } from "./errors.js";
import { withFileLock } from "./file-lock.js";

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function lockPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "trellis-lock-"));
  dirs.push(dir);
  return join(dir, "state.json.lock");
}

/** The pid of a process that has already exited (it could be reused, but not within this test). */
function deadPid(): number {
  const r = spawnSync("true");
  assert.ok(r.pid);
  return r.pid;
}

describe("file lock", () => {
  test("holders never overlap, and the lock file is gone afterwards", async () => {
    const path = await lockPath();
    let inside = 0;
    let maxInside = 0;
    const order: number[] = [];
    await Promise.all(
      [1, 2, 3, 4].map((n) =>
        withFileLock(path, async () => {
          inside++;
          maxInside = Math.max(maxInside, inside);
          await new Promise((r) => setImmediate(r));
          order.push(n);
          inside--;
        }),
      ),
    );
    assert.equal(maxInside, 1);
    assert.equal(order.length, 4);
    assert.equal(existsSync(path), false);
  });

  test("is released when the guarded function throws", async () => {
    const path = await lockPath();
    await assert.rejects(
      withFileLock(path, () => Promise.reject(new Error("boom"))),
      /boom/,
    );
    assert.equal(existsSync(path), false);
    assert.equal(await withFileLock(path, () => Promise.resolve(42)), 42);
  });

  test("takes over a lock left by a process that died", async () => {
    const path = await lockPath();
    await writeFile(path, JSON.stringify({ pid: deadPid(), host: hostname(), token: "dead", acquiredAt: "2020-01-01T00:00:00Z" }));
    const started = Date.now();
    assert.equal(await withFileLock(path, () => Promise.resolve("mine"), { timeoutMs: 2_000 }), "mine");
    assert.ok(Date.now() - started < 1_000, "a dead holder's lock should be taken over at once");
    assert.equal(existsSync(path), false);
  });

  test("waits for a live holder and names it when giving up", async () => {
    const path = await lockPath();
    await writeFile(path, JSON.stringify({ pid: process.pid, host: hostname(), token: "live", acquiredAt: "2020-01-01T00:00:00Z" }));
    await assert.rejects(
      withFileLock(path, () => Promise.resolve(), { timeoutMs: 150 }),
      (e: Error) => e instanceof IpamLockTimeoutError && e.message.includes(`pid ${process.pid}`) && e.message.includes(path),
    );
    assert.equal(existsSync(path), true, "a live holder's lock must not be removed");
  });

  test("a lock file whose creator died before writing it is broken once it is old", async () => {
    const path = await lockPath();
    await writeFile(path, "");
    await assert.rejects(withFileLock(path, () => Promise.resolve(), { timeoutMs: 100 }), IpamLockTimeoutError);
    const old = new Date(Date.now() - 60_000);
    await utimes(path, old, old);
    assert.equal(await withFileLock(path, () => Promise.resolve("ok"), { timeoutMs: 2_000 }), "ok");
  });

  test("concurrent waiters breaking the same dead lock still exclude each other", async () => {
    const path = await lockPath();
    await writeFile(path, JSON.stringify({ pid: deadPid(), host: hostname(), token: "dead", acquiredAt: "2020-01-01T00:00:00Z" }));
    let inside = 0;
    let maxInside = 0;
    await Promise.all(
      Array.from({ length: 6 }, () =>
        withFileLock(path, async () => {
          inside++;
          maxInside = Math.max(maxInside, inside);
          await new Promise((r) => setImmediate(r));
          inside--;
        }),
      ),
    );
    assert.equal(maxInside, 1);
  });
});
