import assert from "node:assert/strict";
import { test } from "node:test";
import { parseResponderArgv, responderArgv } from "./responder.js";

test("the responder's arguments round-trip", () => {
  const argv = responderArgv("100.65.0.2", 4240, { cluster: "cluster-1", node: "node-1" });
  assert.deepEqual(argv, ["--ip", "100.65.0.2", "--port", "4240", "--cluster", "cluster-1", "--node", "node-1"]);
  assert.deepEqual(parseResponderArgv(argv), { ip: "100.65.0.2", port: 4240, identity: { cluster: "cluster-1", node: "node-1" } });
});

test("bad responder arguments name the argument and the value", () => {
  const base = ["--cluster", "c", "--node", "n"];
  assert.throws(() => parseResponderArgv(["--ip", "100.65.0.300", ...base]), /--ip must be an IPv4 address .*"100\.65\.0\.300"/);
  assert.throws(() => parseResponderArgv(["--ip", "100.65.0.2", "--port", "http", ...base]), /--port must be a number \(got "http"\)/);
  assert.throws(() => parseResponderArgv(["--cluster", "c", "--node", "n"]), /--ip is required/);
  assert.throws(() => parseResponderArgv(["--ip", "100.65.0.2", "--colour", "x", ...base]), /Unknown option '--colour'.*usage: --ip/);
});
