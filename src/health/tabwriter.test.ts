import assert from "node:assert/strict";
import { test } from "node:test";
import { tabwrite } from "./tabwriter.js";

test("cells of consecutive lines align to the widest plus 3, the last piece of a line is not padded", () => {
  // The layout of Cilium's succinct health table (pkg/health/client/testdata/oneUnhealthy.golden).
  const text = "Cluster health:\t3/4 reachable\t(2023-04-01T12:00:00Z)\t(Probe interval: 8m5s)\nName\tIP\tNode\tEndpoints\n  node3\t192.168.1.3\t0/1\t0/1\n";
  assert.equal(
    tabwrite(text),
    [
      "Cluster health:   3/4 reachable   (2023-04-01T12:00:00Z)   (Probe interval: 8m5s)",
      "Name              IP              Node                     Endpoints",
      "  node3           192.168.1.3     0/1                      0/1",
      "",
    ].join("\n"),
  );
});

test("a line without a cell ends the block; the next block is sized on its own", () => {
  assert.equal(tabwrite("a\tb\tc\nxx\tyyyy\tz\nq\nlong-cell\tw\n"), "a    b      c\nxx   yyyy   z\nq\nlong-cell   w\n");
});

test("a column's block never spans lines that belong to different blocks to its left", () => {
  assert.equal(tabwrite("a\tb\tc\naaaaaa\td\nx\tyy\tz"), "a        b   c\naaaaaa   d\nx        yy   z");
});

test("widths count characters, not bytes, and respect the minimum width", () => {
  assert.equal(tabwrite("µµ\tx\nab\ty\n"), "µµ   x\nab   y\n");
  assert.equal(tabwrite("\tx\n", { minWidth: 5 }), "     x\n");
});
