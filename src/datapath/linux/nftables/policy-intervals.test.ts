import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { keyCovers, parsePolicyKey } from "../../../policy/index.js";
import { policySetElements } from "./policy-intervals.js";

type Range = [number, number];
const parse = (element: string): Range[] =>
  element.split(" . ").map((part): Range => {
    const [lo, hi] = part.split("-").map(Number) as [number, number?];
    return [lo, hi ?? lo];
  });
const inside = (r: Range, v: number) => v >= r[0] && v <= r[1];
const overlaps = (a: Range[], b: Range[]) => a.every((r, i) => r[0] <= b[i]![1] && b[i]![0] <= r[1]);

/** A small deterministic generator, so a failure reproduces. */
function random(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2 ** 31), s / 2 ** 31);
}

describe("policy keys as interval-set elements", () => {
  test("exact keys stay one element each; wildcards span the whole range", () => {
    assert.deepEqual(policySetElements(["65537/6/80"]), ["65537-65537 . 6-6 . 80-80"]);
    assert.deepEqual(policySetElements(["65537/0/0"]), ["65537-65537 . 0-255 . 0-65535"]);
    assert.deepEqual(policySetElements(["0/17/53"]), ["0-16777215 . 17-17 . 53-53"]);
    assert.deepEqual(policySetElements(["65537/6/8000-8080"]), ["65537-65537 . 6-6 . 8000-8080"]);
    assert.deepEqual(policySetElements([]), []);
  });

  test("a wildcard and a key inside it become disjoint pieces that cover the same traffic", () => {
    assert.deepEqual(policySetElements(["0/6/443", "65537/6/80"]), [
      "0-65536 . 6-6 . 443-443",
      "65537-65537 . 6-6 . 80-80",
      "65537-65537 . 6-6 . 443-443",
      "65538-16777215 . 6-6 . 443-443",
    ]);
    // Contained keys add nothing; adjacent and overlapping port ranges merge.
    assert.deepEqual(policySetElements(["65537/0/0", "65537/6/80"]), ["65537-65537 . 0-255 . 0-65535"]);
    assert.deepEqual(policySetElements(["7/6/80-90", "7/6/91", "7/6/85-100"]), ["7-7 . 6-6 . 80-100"]);
  });

  test("the same union gives the same elements whatever the keys that spell it", () => {
    assert.deepEqual(policySetElements(["7/6/80-81", "8/6/80-81"]), policySetElements(["8/6/81", "7/6/80", "8/6/80", "7/6/81"]));
    assert.deepEqual(policySetElements(["7/6/80-81", "8/6/80-81"]), ["7-8 . 6-6 . 80-81"]);
  });

  test("random key sets: elements are disjoint and match exactly the traffic some key covers", () => {
    const next = random(42);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!;
    for (let round = 0; round < 200; round++) {
      const keys = Array.from({ length: 1 + Math.floor(next() * 6) }, () => {
        const id = pick([0, 1, 2, 65537, 65538, 70000]);
        const proto = pick([0, 6, 17]);
        const port = pick([0, 80, 81, 443, 1000]);
        const end = port === 0 ? 0 : pick([port, port + 1, port + 500]);
        return end === port ? `${id}/${proto}/${port}` : `${id}/${proto}/${port}-${end}`;
      });
      const elements = policySetElements(keys).map(parse);
      for (let i = 0; i < elements.length; i++) {
        for (let j = i + 1; j < elements.length; j++) assert.ok(!overlaps(elements[i]!, elements[j]!), `${keys.join(",")}: elements ${i} and ${j} overlap`);
      }
      for (let probe = 0; probe < 50; probe++) {
        const flow = [pick([0, 1, 2, 3, 65536, 65537, 65538, 69999, 70000, 16777215]), pick([1, 6, 17, 132]), pick([0, 79, 80, 81, 82, 443, 580, 581, 1000, 1500, 65535])] as const;
        const want = keys.some((k) => keyCovers(parsePolicyKey(k), ...flow));
        const got = elements.some((e) => e.every((r, i) => inside(r, flow[i]!)));
        assert.equal(got, want, `keys ${keys.join(",")} flow ${flow.join("/")}`);
      }
    }
  });
});
