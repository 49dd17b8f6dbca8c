import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { archivePath, sysdumpName, writeSysdump } from "./collect.js";

const dir = mkdtempSync(join(tmpdir(), "trellis-sysdump-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("the archive is named after the time, in the current directory unless told otherwise", () => {
  const t = new Date(2026, 10, 23, 7, 5, 9);
  assert.equal(sysdumpName(t), "trellis-sysdump-20261123-070509");
  assert.equal(archivePath(undefined, t, "/work"), "/work/trellis-sysdump-20261123-070509.tar.gz");
  assert.equal(archivePath("bug-42", t, "/work"), "/work/bug-42.tar.gz");
  assert.equal(archivePath("/tmp/x.tar.gz", t, "/work"), "/tmp/x.tar.gz");
});

test("a failing item is recorded in errors.txt and sysdump.json; the others are all in the archive", async () => {
  const archive = join(dir, "dump.tar.gz");
  const r = await writeSysdump(
    archive,
    [
      { path: "status/status.txt", collect: async () => "Cluster: ok\n" },
      { path: "metrics/operator.txt", collect: () => Promise.reject(new Error("no metrics endpoint answered")) },
      { path: "nodes/node-1/routes.txt", collect: async () => Buffer.from("100.65.1.0/24 via 100.65.1.1\n") },
    ],
    { cluster: "cluster-1" },
  );
  assert.deepEqual(r.items.map((i) => [i.path, i.ok]), [["status/status.txt", true], ["metrics/operator.txt", false], ["nodes/node-1/routes.txt", true]]);
  const listing = spawnSync("tar", ["-tzf", archive], { encoding: "utf8" }).stdout.split("\n").filter((l) => !l.endsWith("/") && l);
  assert.deepEqual(listing.sort(), ["dump/errors.txt", "dump/nodes/node-1/routes.txt", "dump/status/status.txt", "dump/sysdump.json"]);
  const out = join(dir, "out");
  spawnSync("mkdir", ["-p", out]);
  spawnSync("tar", ["-xzf", archive, "-C", out]);
  assert.equal(readFileSync(join(out, "dump/errors.txt"), "utf8"), "metrics/operator.txt: no metrics endpoint answered\n");
  const meta = JSON.parse(readFileSync(join(out, "dump/sysdump.json"), "utf8")) as { cluster: string; items: { path: string; error?: string }[] };
  assert.equal(meta.cluster, "cluster-1");
  assert.equal(meta.items[1]!.error, "no metrics endpoint answered");
  assert.equal(readFileSync(join(out, "dump/nodes/node-1/routes.txt"), "utf8"), "100.65.1.0/24 via 100.65.1.1\n");
});
