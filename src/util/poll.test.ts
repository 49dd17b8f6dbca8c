import assert from "node:assert/strict";
import { test } from "node:test";
import { PollTimeoutError, pollUntil } from "./poll.js";

test("pollUntil returns the first value, treating throws as not yet", async () => {
  let n = 0;
  const v = await pollUntil("the third try", 2000, () => {
    n++;
    if (n === 1) throw new Error("not up");
    return n === 3 ? "ok" : undefined;
  }, 5);
  assert.equal(v, "ok");
  assert.equal(n, 3);
});

test("pollUntil times out naming what it waited for and the last error", async () => {
  await assert.rejects(
    pollUntil("etcd of cluster-1", 50, () => {
      throw new Error("connection refused");
    }, 10),
    (e: unknown) => e instanceof PollTimeoutError && /timed out after 0 s waiting for etcd of cluster-1 \(last error: connection refused\)/.test((e as Error).message),
  );
});
