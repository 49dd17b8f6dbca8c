import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { describeObject, diffObjects, objectKey } from "./objects.js";
import { buildReport, formatReport, reportChanged } from "./report.js";
import type { DatapathObject } from "./types.js";

const route = (dst: string, gateway: string): DatapathObject => ({ kind: "route", dst, gateway, dev: "eth0" });
const fdb = (mac: string, dst: string): DatapathObject => ({ kind: "fdb", mac, dev: "trellis_vxlan", dst });

describe("kernel objects: identity, diff and report", () => {
  test("a route is identified by its destination, so a new gateway is an update, not add + remove", () => {
    const diff = diffObjects([route("100.127.2.0/24", "198.18.250.12"), route("100.127.3.0/24", "198.18.250.13")], [
      route("100.127.2.0/24", "198.18.250.99"),
      route("100.127.3.0/24", "198.18.250.13"),
      route("100.127.9.0/24", "198.18.250.19"),
    ]);
    assert.deepEqual(diff.add, []);
    assert.deepEqual(diff.update.map((u) => [describeObject(u.from), describeObject(u.to)]), [
      ["route 100.127.2.0/24 via 198.18.250.99 dev eth0", "route 100.127.2.0/24 via 198.18.250.12 dev eth0"],
    ]);
    assert.deepEqual(diff.remove.map(describeObject), ["route 100.127.9.0/24 via 198.18.250.19 dev eth0"]);
    assert.deepEqual(diff.keep.map(describeObject), ["route 100.127.3.0/24 via 198.18.250.13 dev eth0"]);
  });

  test("an FDB entry is identified by MAC and remote: a moved node is one added and one removed entry", () => {
    assert.notEqual(objectKey(fdb("0e:74:64:7f:02:01", "198.18.250.12")), objectKey(fdb("0e:74:64:7f:02:01", "198.18.250.22")));
    const diff = diffObjects([fdb("0e:74:64:7f:02:01", "198.18.250.22")], [fdb("0e:74:64:7f:02:01", "198.18.250.12")]);
    assert.equal(diff.add.length, 1);
    assert.equal(diff.remove.length, 1);
  });

  test("a report counts per kind, sorts by dependency, and prints one line", () => {
    const report = buildReport({
      added: [route("100.127.2.0/24", "198.18.250.12"), fdb("0e:74:64:7f:02:01", "198.18.250.12")],
      updated: [],
      removed: [],
      kept: [route("100.127.3.0/24", "198.18.250.13")],
      problems: [],
      startedAt: performance.now(),
    });
    assert.deepEqual(report.added.map((o) => o.kind), ["fdb", "route"]);
    assert.deepEqual(report.counts.route, { added: 1, updated: 0, removed: 0, kept: 1 });
    assert.equal(reportChanged(report), true);
    assert.match(formatReport(report), /^added 2, updated 0, removed 0, kept 1 \(fdb \+1, route \+1\) in \d+\.\d ms$/);
  });
});
