import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { loadPodRecord, podRecordPath, PodRecordError, savePodRecord, type PodInstanceRecord } from "./pod-runner-record.js";

const owner = { cluster: "cluster-1", node: "node-2" };
const pod: PodInstanceRecord = {
  namespace: "shop",
  name: "web-1",
  createdAt: "2025-01-01T00:00:00.000Z",
  containerId: "0123456789abcdef".repeat(4),
  netns: "trl-c1-pod-0a1b2c3d",
  netnsCreated: true,
  cniAttached: true,
  state: "running",
  ip: "100.65.2.7",
  cniResult: { cniVersion: "1.0.0", ips: [{ address: "100.65.2.7/32" }] },
  pid: 4242,
  startedAt: "2025-01-01T00:00:01.000Z",
};

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "trellis-pod-record-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("pod runner record", () => {
  test("a missing record is empty; a saved one loads back as written, with no temp files left", async () => {
    const path = podRecordPath(join(dir, "node-2"));
    assert.deepEqual(await loadPodRecord(path, owner), []);
    await savePodRecord(path, owner, [pod]);
    assert.deepEqual(await loadPodRecord(path, owner), [pod]);
    assert.deepEqual(await readdir(join(dir, "node-2")), ["pod-runner.json"]);
  });

  test("a record of another node is refused, naming both", async () => {
    const path = join(dir, "other.json");
    await savePodRecord(path, { cluster: "cluster-1", node: "node-9" }, []);
    await assert.rejects(loadPodRecord(path, owner), (e: Error) => e instanceof PodRecordError && /node-9 of cluster cluster-1, not to node-2 of cluster-1/.test(e.message));
  });

  test("a corrupt or malformed record is refused, naming the file and the problem", async () => {
    const bad = join(dir, "bad.json");
    await writeFile(bad, "{not json");
    await assert.rejects(loadPodRecord(bad, owner), (e: Error) => e instanceof PodRecordError && e.message.includes(bad) && /not valid JSON/.test(e.message));
    await writeFile(bad, JSON.stringify({ version: 1, ...owner, pods: [{ ...pod, containerId: "short" }] }));
    await assert.rejects(loadPodRecord(bad, owner), /malformed at pods\.0\.containerId/);
  });
});
