import assert from "node:assert/strict";
import { test } from "node:test";
import { formatGoDuration } from "./go-duration.js";

test("durations print as Go's time.Duration.String() prints them", () => {
  const cases: [number, string][] = [
    [0, "0s"],
    [1, "1ns"],
    [999, "999ns"],
    [1_000, "1µs"],
    [1_001, "1.001µs"],
    [1_500, "1.5µs"],
    [585_908, "585.908µs"], // seed 002
    [386_343, "386.343µs"],
    [999_999, "999.999µs"],
    [1_000_000, "1ms"],
    [1_000_001, "1.000001ms"],
    [1_636_700, "1.6367ms"], // seed 002: trailing zeros dropped
    [1_659_939, "1.659939ms"],
    [4_215_347, "4.215347ms"],
    [999_999_999, "999.999999ms"],
    [1_000_000_000, "1s"],
    [1_500_000_000, "1.5s"],
    [1_000_000_001, "1.000000001s"],
    [60_000_000_000, "1m0s"],
    [74_000_000_000, "1m14s"],
    [61_500_000_000, "1m1.5s"],
    [485_000_000_000, "8m5s"],
    [3_600_000_000_000, "1h0m0s"],
    [3_601_000_000_000, "1h0m1s"],
    [90_061_000_000_000, "25h1m1s"],
    [-1_500, "-1.5µs"],
    [-2_000_000_000, "-2s"],
  ];
  for (const [ns, text] of cases) assert.equal(formatGoDuration(ns), text, `${ns} ns`);
});

test("fractions of a nanosecond round to the nearest one, as RTTs measured in ms carry them", () => {
  assert.equal(formatGoDuration(0.4), "0s");
  assert.equal(formatGoDuration(999.6), "1µs");
  assert.equal(formatGoDuration(0.585908 * 1e6), "585.908µs");
});

test("a non-finite duration is refused with the value", () => {
  assert.throws(() => formatGoDuration(Number.NaN), /finite number of nanoseconds \(got NaN\)/);
});
