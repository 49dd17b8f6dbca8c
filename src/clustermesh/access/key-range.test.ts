import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatPermission, fromEtcdRange, sameEtcdRange, toEtcdRange, type KeyRange } from "./key-range.js";

describe("key ranges of etcd permissions", () => {
  test("a prefix is [prefix, prefix with its last byte incremented), as etcdctl --prefix grants it", () => {
    const r = toEtcdRange({ kind: "prefix", prefix: "cilium/state/" });
    assert.equal(r.key.toString(), "cilium/state/");
    assert.equal(r.rangeEnd.toString(), "cilium/state0");
  });

  test("one key has an empty range end; every key is [\\0, \\0)", () => {
    assert.equal(toEtcdRange({ kind: "key", key: "cilium/cluster-config/c1" }).rangeEnd.length, 0);
    const all = toEtcdRange({ kind: "all" });
    assert.deepEqual([...all.key, ...all.rangeEnd], [0, 0]);
  });

  test("what etcd returns is recognised as the key, prefix or whole keyspace it was granted as", () => {
    const ranges: KeyRange[] = [
      { kind: "key", key: "cilium/.heartbeat" },
      { kind: "prefix", prefix: "cilium/synced/c1/" },
      { kind: "prefix", prefix: "cilium/état/" },
      { kind: "all" },
      { kind: "range", from: "a", to: "c" },
    ];
    for (const range of ranges) assert.deepEqual(fromEtcdRange(toEtcdRange(range)), range);
  });

  test("a prefix whose last bytes are 0xff ends where the byte before them is incremented", () => {
    const range = { key: Buffer.from([0x61, 0xff]), rangeEnd: Buffer.from([0x62]) };
    assert.equal(fromEtcdRange(range).kind, "prefix");
    assert.ok(sameEtcdRange(range, { key: Buffer.from([0x61, 0xff]), rangeEnd: Buffer.from([0x62]) }));
    assert.ok(!sameEtcdRange(range, { key: Buffer.from([0x61, 0xff]), rangeEnd: Buffer.alloc(0) }));
  });

  test("permissions read as an operator writes them", () => {
    assert.equal(formatPermission({ access: "read", range: { kind: "prefix", prefix: "cilium/state/" } }), "read prefix cilium/state/");
    assert.equal(formatPermission({ access: "readwrite", range: { kind: "all" } }), "readwrite every key");
    assert.equal(formatPermission({ access: "write", range: { kind: "key", key: "k" } }), "write key k");
    assert.equal(formatPermission({ access: "read", range: { kind: "range", from: "a", to: "\0" } }), 'read keys from "a" on');
    assert.equal(formatPermission({ access: "read", range: { kind: "range", from: "a", to: "c" } }), 'read keys from "a" up to "c"');
  });
});
