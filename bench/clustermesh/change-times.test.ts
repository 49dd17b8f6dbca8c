import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ChangeTimes, paced, summarize } from "./change-times.js";

describe("ChangeTimes", () => {
  test("latency is from the start of a change to the first time a stage saw it", () => {
    const t = new ChangeTimes(["acked", "handled"] as const);
    t.start("a", 100);
    t.start("b", 110);
    t.mark("a", "handled", 105);
    t.mark("a", "handled", 150); // a second sighting (an update seen again) does not move the first
    t.mark("b", "acked", 112);
    t.mark("never-started", "handled", 120);
    assert.deepEqual(t.latencies("handled"), [5]);
    assert.deepEqual(t.latencies("acked"), [2]);
    assert.equal(t.complete("handled"), false);
    assert.deepEqual(t.missing("handled"), ["b"]);
    t.mark("b", "handled", 130);
    assert.equal(t.complete("handled"), true);
    assert.deepEqual(t.summary("handled"), { count: 2, p50: 5, p99: 20, max: 20 });
  });

  test("a change started twice and an unknown stage are errors, not silently merged", () => {
    const t = new ChangeTimes(["handled"] as const);
    t.start("a");
    assert.throws(() => t.start("a"), /change "a" was started twice/);
    assert.throws(() => t.mark("a", "kernel" as "handled"), /unknown stage "kernel"; known: handled/);
  });

  test("waitComplete resolves once every change is seen, and otherwise names what is missing", async () => {
    const t = new ChangeTimes(["handled"] as const);
    t.start("x");
    t.start("y");
    setImmediate(() => t.mark("x", "handled"));
    setImmediate(() => t.mark("y", "handled"));
    await t.waitComplete("handled", 5_000);
    t.start("z");
    await assert.rejects(t.waitComplete("handled", 30), /handled: 1 of 3 changes not seen within 30 ms \(first: z\)/);
  });
});

describe("summarize", () => {
  test("nearest-rank percentiles of unsorted samples; nothing is NaN rather than zero", () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i);
    assert.deepEqual(summarize(samples), { count: 100, p50: 50, p99: 99, max: 100 });
    const none = summarize([]);
    assert.equal(none.count, 0);
    assert.ok(Number.isNaN(none.p50) && Number.isNaN(none.max));
  });
});

describe("paced", () => {
  test("issues every change in order and never ahead of its time", async () => {
    const issuedAt: number[] = [];
    const start = performance.now();
    const run = await paced(50, 500, (i) => {
      assert.equal(i, issuedAt.length);
      issuedAt.push(performance.now() - start);
    });
    assert.equal(issuedAt.length, 50);
    // The i-th change is due i × 2 ms after the start (a little slack for the clock's rounding).
    for (const [i, at] of issuedAt.entries()) assert.ok(at >= i * 2 - 0.5, `change ${i} issued at ${at.toFixed(2)} ms, due at ${i * 2} ms`);
    assert.ok(run.rate <= 500 * 1.02, `issued at ${run.rate}/s, asked for 500/s`);
    assert.equal(run.count, 50);
  });

  test("refuses a count or rate that is not a number of changes", async () => {
    await assert.rejects(paced(1.5, 10, () => undefined), /count must be a non-negative integer, got 1.5/);
    await assert.rejects(paced(10, 0, () => undefined), /rate must be a positive number of changes per second, got 0/);
  });
});
