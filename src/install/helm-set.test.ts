import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { applySet, getPath, mergeValues, parseSets, SetSyntaxError } from "./helm-set.js";

describe("helm --set parsing", () => {
  test("the seed's cluster identity flags", () => {
    const v = parseSets(["cluster.name=cluster-1", "cluster.id=1"]);
    assert.deepEqual(v, { cluster: { name: "cluster-1", id: 1 } });
    assert.equal(getPath(v, "cluster.id"), 1);
  });

  test("commas separate assignments; later ones win", () => {
    assert.deepEqual(parseSets(["a=1,b.c=x", "a=2"]), { a: 2, b: { c: "x" } });
  });

  test("types: booleans, integers, null removes, leading zeros and floats stay strings", () => {
    const v = parseSets(["t=true,f=false,n=42,neg=-3,z=0,lead=007,fl=1.5,s=hello"]);
    assert.deepEqual(v, { t: true, f: false, n: 42, neg: -3, z: 0, lead: "007", fl: "1.5", s: "hello" });
    assert.deepEqual(parseSets(["a.b=1,a.c=2", "a.b=null"]), { a: { c: 2 } });
  });

  test("--set-string keeps everything a string", () => {
    assert.deepEqual(parseSets(["id=1,on=true"], { asString: true }), { id: "1", on: "true" });
  });

  test("lists with braces and indices", () => {
    assert.deepEqual(parseSets(["ips={198.18.1.11,198.18.1.12}"]), { ips: ["198.18.1.11", "198.18.1.12"] });
    assert.deepEqual(parseSets(["empty={}"]), { empty: [] });
    const v = parseSets(["clustermesh.config.clusters[0].name=cluster-1,clustermesh.config.clusters[0].port=2379", "clustermesh.config.clusters[1].ips[0]=198.19.2.1"]);
    assert.deepEqual(v, {
      clustermesh: { config: { clusters: [{ name: "cluster-1", port: 2379 }, { ips: ["198.19.2.1"] }] } },
    });
    assert.deepEqual(parseSets(["a[2]=x"]), { a: [null, null, "x"] });
  });

  test("backslash escapes dots, commas and equals", () => {
    assert.deepEqual(parseSets(["annotations.service\\.cilium\\.io/global=true"]), {
      annotations: { "service.cilium.io/global": true },
    });
    assert.deepEqual(parseSets(["a=x\\,y,b=c\\=d"]), { a: "x,y", b: "c=d" });
  });

  test("values may contain '=' and '.'", () => {
    assert.deepEqual(parseSets(["url=https://a.b/c?x=1"]), { url: "https://a.b/c?x=1" });
  });

  test("malformed input names the problem", () => {
    for (const [expr, msg] of [
      ["", /empty assignment/],
      ["novalue", /expected "=" after key "novalue"/],
      [".a=1", /empty key/],
      ["a[x]=1", /list index "x"/],
      ["a[1=1", /unclosed "\["/],
      ["a={1,2", /unclosed "\{"/],
      ["a=1\\", /trailing backslash/],
      ["a[99999999]=1", /larger than/],
    ] as const) {
      assert.throws(() => parseSets([expr]), (e: unknown) => e instanceof SetSyntaxError && msg.test(e.message), expr);
    }
  });

  test("a key used as both list and map is rebuilt, as Helm does", () => {
    const v: Record<string, unknown> = { a: "scalar" };
    applySet(v, "a.b=1");
    assert.deepEqual(v, { a: { b: 1 } });
  });

  test("mergeValues: maps merge deeply, lists and scalars replace, null deletes", () => {
    const base = { cluster: { name: "c1", id: 1 }, l: [1, 2], keep: true };
    const merged = mergeValues(base, { cluster: { id: 2 }, l: [3], keep: null });
    assert.deepEqual(merged, { cluster: { name: "c1", id: 2 }, l: [3] });
    assert.deepEqual(base, { cluster: { name: "c1", id: 1 }, l: [1, 2], keep: true }, "base is not mutated");
  });
});
