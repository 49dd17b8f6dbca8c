import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { IpAllocator } from "./allocator.js";
import { CidrExhaustedError, InvalidIpamInputError, IpamStateError, IpUnavailableError, OwnerConflictError } from "./errors.js";

const dirs: string[] = [];
const children: ChildProcess[] = [];
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function stateFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "trellis-ipam-"));
  dirs.push(dir);
  return join(dir, "ipam.json");
}

const CIDR = "100.64.7.0/24";

describe("IpAllocator: addresses", () => {
  test("never hands out network, router (.1), broadcast or configured reserved addresses", async () => {
    const a = await IpAllocator.open({ cidr: "100.64.0.0/29", stateFile: await stateFile(), reserved: ["100.64.0.4"] });
    assert.equal(a.routerIp, "100.64.0.1");
    const got = [];
    for (const owner of ["a", "b", "c", "d"]) got.push((await a.allocate(owner)).ip);
    assert.deepEqual(got, ["100.64.0.2", "100.64.0.3", "100.64.0.5", "100.64.0.6"]);
    const usage = await a.usage();
    assert.deepEqual(usage, {
      cidr: "100.64.0.0/29",
      capacity: 4,
      inUse: 4,
      free: 0,
      reserved: ["100.64.0.0", "100.64.0.1", "100.64.0.4", "100.64.0.7"],
    });
  });

  test("exhaustion names the CIDR and how many addresses are in use", async () => {
    const a = await IpAllocator.open({ cidr: "100.64.0.0/30", stateFile: await stateFile() });
    assert.equal((await a.allocate("only")).ip, "100.64.0.2");
    await assert.rejects(
      a.allocate("one-too-many"),
      (e: Error) => e instanceof CidrExhaustedError && e.message.includes("100.64.0.0/30") && e.message.includes("1 addresses in use"),
    );
  });

  test("allocate is idempotent per owner and release is idempotent", async () => {
    const a = await IpAllocator.open({ cidr: CIDR, stateFile: await stateFile() });
    const first = await a.allocate("c1/eth0");
    assert.deepEqual(await a.allocate("c1/eth0"), first);
    assert.equal((await a.list()).length, 1);
    assert.deepEqual(await a.release("c1/eth0"), first);
    assert.equal(await a.release("c1/eth0"), undefined);
    assert.equal(await a.release("never-seen"), undefined);
    assert.equal(await a.get("c1/eth0"), undefined);
  });

  test("concurrent calls on one instance get distinct addresses", async () => {
    const a = await IpAllocator.open({ cidr: CIDR, stateFile: await stateFile() });
    const got = await Promise.all(Array.from({ length: 20 }, (_, i) => a.allocate(`pod-${i}`)));
    assert.equal(new Set(got.map((g) => g.ip)).size, 20);
    assert.equal((await a.usage()).inUse, 20);
  });

  test("a released address is not reused at once (round robin), only after the range wraps", async () => {
    const a = await IpAllocator.open({ cidr: "100.64.0.0/29", stateFile: await stateFile() });
    const x = await a.allocate("x");
    await a.allocate("y");
    await a.release("x");
    assert.equal((await a.allocate("z")).ip, "100.64.0.4");
    assert.equal((await a.allocate("w")).ip, "100.64.0.5");
    assert.equal((await a.allocate("v")).ip, "100.64.0.6");
    assert.equal((await a.allocate("u")).ip, x.ip, "after the top of the range, the search wraps to the freed address");
  });

  test("allocateSpecific gives a chosen address and refuses conflicts with a reason", async () => {
    const a = await IpAllocator.open({ cidr: CIDR, stateFile: await stateFile(), reserved: ["100.64.7.250"] });
    const health = await a.allocateSpecific("100.64.7.250", "health");
    assert.equal(health.ip, "100.64.7.250");
    assert.deepEqual(await a.allocateSpecific("100.64.7.250", "health"), health);
    await assert.rejects(
      a.allocateSpecific("100.64.7.250", "pod"),
      (e: Error) => e instanceof IpUnavailableError && e.reason === "in-use" && e.message.includes('"health"'),
    );
    for (const [ip, role] of [
      ["100.64.7.0", "network address"],
      ["100.64.7.1", "router IP"],
      ["100.64.7.255", "broadcast address"],
    ] as const) {
      await assert.rejects(a.allocateSpecific(ip, "pod"), (e: Error) => e instanceof IpUnavailableError && e.reason === "reserved" && e.message.includes(role));
    }
    await assert.rejects(a.allocateSpecific("100.64.8.2", "pod"), (e: Error) => e instanceof IpUnavailableError && e.reason === "outside-cidr");
    await assert.rejects(a.allocateSpecific("100.64.7.9", "health"), (e: Error) => e instanceof OwnerConflictError && e.message.includes("100.64.7.250"));
    await assert.rejects(a.allocateSpecific("100.64.7.x", "pod"), (e: Error) => e instanceof InvalidIpamInputError && e.message.includes('"100.64.7.x"'));
  });

  test("bad options and owners are refused with the value given", async () => {
    const file = await stateFile();
    await assert.rejects(IpAllocator.open({ cidr: "100.64.7.0/33", stateFile: file }), (e: Error) => e instanceof InvalidIpamInputError && e.message.includes("100.64.7.0/33"));
    await assert.rejects(IpAllocator.open({ cidr: "100.64.7.0/31", stateFile: file }), /too small/);
    await assert.rejects(
      IpAllocator.open({ cidr: CIDR, stateFile: file, reserved: ["100.64.9.9"] }),
      (e: Error) => e.message.includes("100.64.9.9") && e.message.includes(CIDR),
    );
    const a = await IpAllocator.open({ cidr: CIDR, stateFile: file });
    await assert.rejects(a.allocate(""), (e: Error) => e instanceof InvalidIpamInputError && e.message.includes('""'));
  });
});

describe("IpAllocator: persistence", () => {
  test("a restart (new instance over the same file) keeps every allocation and the round-robin cursor", async () => {
    const file = await stateFile();
    const before = await IpAllocator.open({ cidr: CIDR, stateFile: file });
    const a = await before.allocate("a");
    const b = await before.allocate("b");
    await before.release("a");

    const after = await IpAllocator.open({ cidr: CIDR, stateFile: file });
    assert.deepEqual(await after.get("b"), b);
    assert.deepEqual(await after.allocate("b"), b);
    const c = await after.allocate("c");
    assert.notEqual(c.ip, a.ip, "the address released before the restart is not reused first");
    assert.notEqual(c.ip, b.ip);
  });

  test("a torn temp file left by a crash mid-write is ignored and removed", async () => {
    const file = await stateFile();
    const first = await IpAllocator.open({ cidr: CIDR, stateFile: file });
    const held = await first.allocate("survivor");
    const torn = join(dirname(file), `.ipam.json.tmp-99999-deadbeef`);
    await writeFile(torn, '{"version":1,"cidr":"100.64.7.0/24","lastAllocated":"100.64.7.9","allocations":[{"ip":"100.6');

    const second = await IpAllocator.open({ cidr: CIDR, stateFile: file });
    assert.deepEqual(await second.list(), [held]);
    assert.equal(existsSync(torn), false);
    assert.notEqual((await second.allocate("next")).ip, held.ip);
  });

  test("a damaged state file is refused, not reset", async () => {
    const file = await stateFile();
    await writeFile(file, '{"version":1,"cidr":"100.64.7.0/24","allocations":[{"ip":"100.64');
    await assert.rejects(
      IpAllocator.open({ cidr: CIDR, stateFile: file }),
      (e: Error) => e instanceof IpamStateError && e.message.includes(file) && e.message.includes("not valid JSON"),
    );
    const twice = { version: 1, cidr: CIDR, lastAllocated: null, allocations: [
      { ip: "100.64.7.2", owner: "a", allocatedAt: "t" },
      { ip: "100.64.7.2", owner: "b", allocatedAt: "t" },
    ] };
    await writeFile(file, JSON.stringify(twice));
    await assert.rejects(IpAllocator.open({ cidr: CIDR, stateFile: file }), /100\.64\.7\.2 is allocated twice/);
  });

  test("a state file of another CIDR is refused, naming both", async () => {
    const file = await stateFile();
    await IpAllocator.open({ cidr: CIDR, stateFile: file });
    await assert.rejects(
      IpAllocator.open({ cidr: "100.64.8.0/24", stateFile: file }),
      (e: Error) => e instanceof IpamStateError && e.message.includes(CIDR) && e.message.includes("100.64.8.0/24"),
    );
  });
});

/** Runs a small script in a separate node process that allocates `count` owners and prints "owner ip" per line. */
function allocatorProcess(file: string, prefix: string, count: number): ChildProcess {
  const here = fileURLToPath(import.meta.url);
  const fromSource = here.endsWith(".ts");
  const repo = resolve(dirname(here), fromSource ? "../.." : "../../..");
  const module = pathToFileURL(join(dirname(here), fromSource ? "allocator.ts" : "allocator.js")).href;
  const script = `
    const { IpAllocator } = await import(process.argv[1]);
    const a = await IpAllocator.open({ cidr: process.argv[2], stateFile: process.argv[3] });
    for (let i = 0; i < Number(process.argv[5]); i++) {
      const got = await a.allocate(process.argv[4] + i);
      process.stdout.write(got.owner + " " + got.ip + "\\n");
    }`;
  const child = spawn(process.execPath, [...(fromSource ? ["--import", "tsx"] : []), "--input-type=module", "-e", script, module, CIDR, file, prefix, String(count)], {
    cwd: repo,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  return child;
}

function collect(child: ChildProcess): { lines: () => string[]; done: Promise<{ code: number | null; stderr: string }> } {
  let out = "";
  let err = "";
  child.stdout?.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr?.on("data", (b: Buffer) => (err += b.toString()));
  const done = new Promise<{ code: number | null; stderr: string }>((res) => child.on("close", (code) => res({ code, stderr: err })));
  return { lines: () => out.split("\n").filter((l) => l.includes(" ")), done };
}

describe("IpAllocator: several processes", () => {
  test("concurrent processes over one file never hand out the same address twice", async () => {
    const file = await stateFile();
    const runs = ["p1-", "p2-", "p3-"].map((p) => collect(allocatorProcess(file, p, 40)));
    for (const r of runs) {
      const { code, stderr } = await r.done;
      assert.equal(code, 0, stderr);
    }
    const printed = runs.flatMap((r) => r.lines());
    assert.equal(printed.length, 120);
    const ips = printed.map((l) => l.split(" ")[1]);
    assert.equal(new Set(ips).size, 120, "every printed address is distinct");
    const a = await IpAllocator.open({ cidr: CIDR, stateFile: file });
    const stored = await a.list();
    assert.equal(stored.length, 120);
    assert.deepEqual(new Set(stored.map((s) => `${s.owner} ${s.ip}`)), new Set(printed));
  });

  test("a process killed mid-run loses nothing it reported, and its lock is taken over", async () => {
    const file = await stateFile();
    const run = collect(allocatorProcess(file, "k-", 250));
    const deadline = Date.now() + 20_000;
    while (run.lines().length < 25) {
      assert.ok(Date.now() < deadline, "the allocating process did not report 25 allocations in time");
      await sleep(5);
    }
    children.at(-1)?.kill("SIGKILL");
    await run.done;
    const reported = run.lines();

    const a = await IpAllocator.open({ cidr: CIDR, stateFile: file, lockTimeoutMs: 2_000 });
    const stored = new Map((await a.list()).map((s) => [s.owner, s.ip]));
    for (const line of reported) {
      const [owner, ip] = line.split(" ");
      assert.equal(stored.get(owner ?? ""), ip, `allocation "${line}" was reported but not persisted`);
    }
    const next = await a.allocate("after-crash");
    assert.ok(![...stored.values()].includes(next.ip));
    const leftovers = (await readdir(dirname(file))).filter((n) => n.includes(".tmp-"));
    assert.deepEqual(leftovers, []);
    JSON.parse(await readFile(file, "utf8"));
  });
});
