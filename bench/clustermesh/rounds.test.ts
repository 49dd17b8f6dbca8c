import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { orderFor, splitRounds } from "./rounds.js";

describe("splitRounds", () => {
  test("splits into near-equal rounds of at most about the round size, all of the total", () => {
    assert.deepEqual(splitRounds(3000, 1000), [1000, 1000, 1000]);
    assert.deepEqual(splitRounds(5001, 1000), [834, 834, 834, 833, 833, 833]);
    assert.deepEqual(splitRounds(36, 12), [12, 12, 12]);
  });

  test("a small total still gets two rounds, so that both orders of the paths occur", () => {
    assert.deepEqual(splitRounds(300, 1000), [150, 150]);
    assert.deepEqual(splitRounds(7, 12), [4, 3]);
    assert.deepEqual(splitRounds(1, 12), [1], "never a round of nothing");
  });

  test("a total that is not a positive integer is refused, naming it", () => {
    assert.throws(() => splitRounds(0, 10), /total must be a positive integer, got 0/);
    assert.throws(() => splitRounds(10, 0), /round size must be positive, got 0/);
  });
});

describe("orderFor", () => {
  test("alternates the order round by round without changing the input", () => {
    const paths = ["direct", "kvstoremesh"];
    assert.deepEqual(orderFor(paths, 0), ["direct", "kvstoremesh"]);
    assert.deepEqual(orderFor(paths, 1), ["kvstoremesh", "direct"]);
    assert.deepEqual(orderFor(paths, 2), ["direct", "kvstoremesh"]);
    assert.deepEqual(paths, ["direct", "kvstoremesh"]);
  });
});
