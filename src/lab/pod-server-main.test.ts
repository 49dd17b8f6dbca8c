import assert from "node:assert/strict";
import { test } from "node:test";
import { parsePodServerArgs, PodServerUsageError } from "./pod-server-main.js";

test("the pod runner's argv gives the pod's identity and ports", () => {
  const { who, ports } = parsePodServerArgs(["--name", "web-1", "--namespace", "default", "--node", "node-2", "--cluster", "cluster-1", "--ports", "80,8080"]);
  assert.deepEqual(who, { pod: "web-1", namespace: "default", node: "node-2", cluster: "cluster-1" });
  assert.deepEqual(ports, [80, 8080]);
});

test("ports default to 80, as the full CLI's command does", () => {
  assert.deepEqual(parsePodServerArgs(["--name", "a", "--namespace", "n", "--node", "x", "--cluster", "c"]).ports, [80]);
});

test("missing identity flags, bad ports and unknown flags are usage errors naming the problem", () => {
  assert.throws(() => parsePodServerArgs(["--name", "a", "--node", "x"]), (e: Error) => e instanceof PodServerUsageError && /--namespace, --cluster/.test(e.message));
  assert.throws(() => parsePodServerArgs(["--name", "a", "--namespace", "n", "--node", "x", "--cluster", "c", "--ports", "80,0"]), /--ports must be .*"80,0"/);
  assert.throws(() => parsePodServerArgs(["--name", "a", "--namespace", "n", "--node", "x", "--cluster", "c", "--bogus"]), PodServerUsageError);
});
