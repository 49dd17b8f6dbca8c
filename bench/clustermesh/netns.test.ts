import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { run } from "../../src/util/exec.js";
import { BENCH_NETNS_PREFIX, leftoverNamespaces, ownNamespaces, parseNetnsList, removeLeftoverNamespaces, withBenchNamespace } from "./netns.js";

describe("leftover namespaces", () => {
  test("reads names from `ip netns list`, with or without an id", () => {
    assert.deepEqual(parseNetnsList("trtest-mb-12-1-node (id: 3)\nlab-c1\n\n"), ["trtest-mb-12-1-node", "lab-c1"]);
  });

  test("only this benchmark's namespaces of processes that are gone are leftovers", () => {
    const names = ["trtest-mb-100-1-node", "trtest-mb-200-2-kvsm", "trtest-dp-100-1-a", "trl-c1-n1", "trtest-mb-x-1-node"];
    assert.deepEqual(leftoverNamespaces(names, (pid) => pid === 200), ["trtest-mb-100-1-node"]);
  });

  test("a namespace left by a dead run is removed, and a live run's is not", async (t) => {
    // pid 2^22 + 1 is above Linux's pid_max limit, so no process can have it.
    const dead = `${BENCH_NETNS_PREFIX}4194305-1-test`;
    await run("ip", ["netns", "add", dead]);
    t.after(() => run("ip", ["netns", "del", dead], { allowFailure: true }));
    // Making a namespace clears the leftovers first.
    await withBenchNamespace("live", async (live) => {
      const names = parseNetnsList((await run("ip", ["netns", "list"])).stdout);
      assert.ok(!names.includes(dead), "the dead run's namespace is gone");
      assert.ok(names.includes(live));
      assert.deepEqual(await removeLeftoverNamespaces(), [], "a live run's namespace is not a leftover");
    });
  });
});

describe("withBenchNamespace", () => {
  test("gives a namespace with lo up and removes it afterwards, also when the body throws", async () => {
    let name = "";
    const lo = await withBenchNamespace("t", async (ns) => {
      name = ns;
      return (await run("ip", ["-n", ns, "-j", "link", "show", "lo"])).stdout;
    });
    assert.match(name, new RegExp(`^${BENCH_NETNS_PREFIX}${process.pid}-\\d+-t$`));
    assert.match(lo, /"operstate":"UNKNOWN"|LOWER_UP/);
    await assert.rejects(
      withBenchNamespace("t", async (ns) => {
        name = ns;
        throw new Error("body failed");
      }),
      /^Error: body failed$/,
    );
    assert.deepEqual(await ownNamespaces(), [], `left behind: ${name}`);
  });

  test("a suffix that would make a bad name is refused before anything is made", async () => {
    await assert.rejects(withBenchNamespace("Bad Name", async () => undefined), /namespace suffix must be 1-12 of \[a-z0-9-\], got "Bad Name"/);
  });
});
