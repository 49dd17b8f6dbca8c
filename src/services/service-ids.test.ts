import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ServiceIdAllocator, ServiceIdError } from "./service-ids.js";

describe("service IDs", () => {
  test("allocated once, from 1 upwards; the same key keeps its ID", () => {
    const ids = new ServiceIdAllocator();
    assert.equal(ids.acquire("a"), 1);
    assert.equal(ids.acquire("b"), 2);
    assert.equal(ids.acquire("a"), 1);
    assert.equal(ids.idOf("b"), 2);
    assert.equal(ids.idOf("c"), undefined);
  });

  test("a released ID is not handed out again until the range wraps", () => {
    const ids = new ServiceIdAllocator({ max: 4 });
    ids.acquire("a");
    ids.acquire("b");
    ids.release("a");
    assert.equal(ids.acquire("c"), 3, "a new frontend does not take a gone one's number");
    assert.equal(ids.acquire("d"), 4);
    assert.equal(ids.acquire("e"), 1, "after the top of the range, the first free ID");
    assert.throws(() => ids.acquire("f"), (e: unknown) => e instanceof ServiceIdError && /all 4 service IDs \(1-4\) are in use; cannot add frontend f/.test(e.message));
    assert.deepEqual(ids.entries(), [["e", 1], ["b", 2], ["c", 3], ["d", 4]]);
  });

  test("IDs from an earlier run are restored as they were, and new ones continue after them", () => {
    const ids = new ServiceIdAllocator({ restore: [["x", 16], ["y", 3]] });
    assert.equal(ids.idOf("x"), 16);
    assert.equal(ids.acquire("y"), 3);
    assert.equal(ids.acquire("z"), 17);
    assert.equal(ids.size, 3);
  });

  test("bad restores and ranges are refused, naming the value", () => {
    assert.throws(() => new ServiceIdAllocator({ restore: [["x", 0]] }), /cannot restore service ID 0 for x: IDs run from 1 to 65535/);
    assert.throws(() => new ServiceIdAllocator({ restore: [["x", 5], ["y", 5]] }), /service ID 5 for y: it is already x's/);
    assert.throws(() => new ServiceIdAllocator({ first: 10, max: 2 }), /first=10, max=2/);
  });
});
