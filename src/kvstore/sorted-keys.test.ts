import assert from "node:assert/strict";
import { test } from "node:test";
import { SortedKeys } from "./sorted-keys.js";
import { compareKeys } from "./values.js";

const byUtf8 = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

test("SortedKeys agrees with a sorted reference through random adds and deletes", () => {
  const index = new SortedKeys();
  const reference = new Set<string>();
  const alphabet = ["a", "b", "c", "/", "é", "\uFF5E", "\u{1F600}"];
  let seed = 42;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let i = 0; i < 20_000; i++) {
    const key = Array.from({ length: 1 + rand(4) }, () => alphabet[rand(alphabet.length)]).join("");
    if (rand(3) === 0) assert.equal(index.delete(key), reference.delete(key), `delete ${key}`);
    else {
      const isNew = !reference.has(key);
      reference.add(key);
      assert.equal(index.add(key), isNew, `add ${key}`);
    }
  }
  assert.equal(index.size, reference.size);
  assert.deepEqual([...index.withPrefix("")], [...reference].sort(byUtf8));
  for (const prefix of ["a", "b/", "\u{1F600}", "é", "zz"]) {
    assert.deepEqual([...index.withPrefix(prefix)], [...reference].filter((k) => k.startsWith(prefix)).sort(byUtf8), `prefix ${prefix}`);
  }
});

test("compareKeys orders by UTF-8 bytes where UTF-16 code units disagree", () => {
  const keys = ["\u{1F600}", "\uFF5E", "z", "\uD7FF", "é"];
  assert.deepEqual([...keys].sort(compareKeys), [...keys].sort(byUtf8));
  assert.notDeepEqual([...keys].sort(), [...keys].sort(byUtf8), "the case where JavaScript's own order is wrong");
});
