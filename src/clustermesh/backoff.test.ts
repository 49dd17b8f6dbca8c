import assert from "node:assert/strict";
import { test } from "node:test";
import { backoffDelay, resolveBackoff } from "./backoff.js";

test("reconnect waits double per failure up to the maximum, varied by the jitter either way", () => {
  const b = resolveBackoff({ initialMs: 100, maxMs: 1_000, jitter: 0.2 });
  const middle = () => 0.5;
  assert.deepEqual([0, 1, 2, 3, 4, 10].map((n) => backoffDelay(b, n, middle)), [100, 200, 400, 800, 1_000, 1_000]);
  assert.equal(backoffDelay(b, 0, () => 0), 80);
  assert.equal(backoffDelay(b, 0, () => 1), 120);
  assert.deepEqual(resolveBackoff(), { initialMs: 1_000, maxMs: 30_000, jitter: 0.2 });
});

test("backoff options that make no sense are refused, naming the field and the value", () => {
  assert.throws(() => resolveBackoff({ initialMs: -5 }), /backoff.initialMs must be a positive number of milliseconds \(got -5\)/);
  assert.throws(() => resolveBackoff({ initialMs: 500, maxMs: 100 }), /backoff.maxMs must be .* no smaller than initialMs 500 \(got 100\)/);
  assert.throws(() => resolveBackoff({ jitter: 1.5 }), /backoff.jitter must be a fraction from 0 to below 1 \(got 1.5\)/);
});
