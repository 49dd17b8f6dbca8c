import { test } from "node:test";
import assert from "node:assert/strict";
import { formatTable, parseOutputFormat, printStructured } from "./output.js";

test("tables pad columns and put multi-line cells under each other", () => {
  const t = formatTable(["ID", "Frontend", "Service Type", "Backend"], [["16", "10.240.27.208:80", "ClusterIP", "1 => 172.25.0.160:80 (active)\n2 => 172.25.0.12:80 (active)"]]);
  assert.equal(
    t,
    [
      "ID   Frontend           Service Type   Backend",
      "16   10.240.27.208:80   ClusterIP      1 => 172.25.0.160:80 (active)",
      "                                       2 => 172.25.0.12:80 (active)",
      "",
    ].join("\n"),
  );
});

test("-o accepts json and yaml, refuses the rest with the allowed list", () => {
  assert.equal(parseOutputFormat(undefined), "table");
  assert.equal(parseOutputFormat("yaml"), "yaml");
  assert.throws(() => parseOutputFormat("xml"), /unknown output format "xml": use one of json, yaml/);
  assert.equal(parseOutputFormat("wide", ["table", "wide", "json", "yaml"]), "wide");
});

test("structured output is parseable", () => {
  let s = "";
  assert.equal(printStructured({ a: [1] }, "json", (x) => (s += x)), true);
  assert.deepEqual(JSON.parse(s), { a: [1] });
  s = "";
  printStructured({ a: [1] }, "yaml", (x) => (s += x));
  assert.equal(s, "a:\n  - 1\n");
  assert.equal(printStructured({}, "table", () => assert.fail("tables are the caller's")), false);
});
