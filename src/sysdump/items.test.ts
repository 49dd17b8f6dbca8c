import assert from "node:assert/strict";
import { test } from "node:test";
import { commandOutput, MAX_LOG_BYTES, sysdumpItems, type SysdumpTarget, type SysdumpTools } from "./items.js";

const lab: SysdumpTarget = {
  context: "cluster-1",
  cluster: "cluster-1",
  nodes: [
    { name: "node-1", ip: "198.18.1.11", netns: "trl-c1-n1", stateDir: "/lab/cluster-1/nodes/node-1" },
    { name: "node-2", ip: "198.18.1.12", netns: "trl-c1-n2", stateDir: "/lab/cluster-1/nodes/node-2" },
  ],
  controlPlane: { ip: "198.18.1.2", netns: "trl-c1-cp" },
  logDir: "/lab/cluster-1/logs",
};

function recordingTools(overrides: Partial<SysdumpTools> = {}): SysdumpTools & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    cli: async (args) => (calls.push(`trellis ${args.join(" ")}`), { code: 0, stdout: "ok\n", stderr: "" }),
    inNetns: async (ns, argv) => (calls.push(`${ns}: ${argv.join(" ")}`), { code: 0, stdout: "state\n", stderr: "" }),
    readFile: async (p) => (calls.push(`read ${p}`), Buffer.from("file")),
    ...overrides,
  };
}

test("every node's routes, FDB and nft ruleset are read in its own namespace", async () => {
  const tools = recordingTools();
  const items = sysdumpItems(lab, tools);
  const byPath = new Map(items.map((i) => [i.path, i]));
  for (const node of ["node-1", "node-2"]) for (const f of ["routes.txt", "fdb.txt", "nft-ruleset.txt", "neighbours.txt"]) assert.ok(byPath.has(`nodes/${node}/${f}`), `${node}/${f}`);
  await byPath.get("nodes/node-2/fdb.txt")!.collect();
  await byPath.get("nodes/node-1/nft-ruleset.txt")!.collect();
  assert.deepEqual(tools.calls, ["trl-c1-n2: bridge fdb show", "trl-c1-n1: nft list ruleset"]);
});

test("status, clustermesh status and health status come from the CLI with the context", async () => {
  const tools = recordingTools();
  const items = sysdumpItems(lab, tools);
  for (const p of ["status/status.txt", "status/clustermesh-status.txt", "status/health-status.txt"]) await items.find((i) => i.path === p)!.collect();
  assert.deepEqual(tools.calls, ["trellis status --context cluster-1", "trellis clustermesh status --context cluster-1", "trellis health status --context cluster-1"]);
});

test("logs: control plane and per node; a huge log keeps its end", async () => {
  const big = Buffer.alloc(MAX_LOG_BYTES + 10, "a");
  big.write("END", big.length - 3);
  const tools = recordingTools({ readFile: async () => big });
  const items = sysdumpItems(lab, tools);
  const paths = items.map((i) => i.path).filter((p) => p.startsWith("logs/"));
  assert.deepEqual(paths.sort(), ["logs/etcd.log", "logs/kvstoremesh.log", "logs/node-1/agent.log", "logs/node-1/pod-runner.log", "logs/node-2/agent.log", "logs/node-2/pod-runner.log", "logs/operator.log"]);
  const log = (await items.find((i) => i.path === "logs/node-1/agent.log")!.collect()) as Buffer;
  assert.equal(log.length, MAX_LOG_BYTES);
  assert.equal(log.subarray(-3).toString(), "END");
});

test("metrics: the daemon's address first, then loopback; both failing says what was tried", async () => {
  const tried: string[] = [];
  const tools = recordingTools({ inNetns: async (_ns, argv) => (tried.push(argv.at(-1)!), { code: 7, stdout: "", stderr: "curl: (7) Failed to connect" }) });
  const item = sysdumpItems(lab, tools).find((i) => i.path === "metrics/operator.txt")!;
  await assert.rejects(item.collect(), /no metrics endpoint answered \(http:\/\/198\.18\.1\.2:9963\/metrics: curl: \(7\) Failed to connect; http:\/\/127\.0\.0\.1:9963\/metrics/);
  assert.deepEqual(tried, ["http://198.18.1.2:9963/metrics", "http://127.0.0.1:9963/metrics"]);
  assert.ok(sysdumpItems(lab, tools).some((i) => i.path === "metrics/node-2-agent.txt"));
});

test("outside the lab, kernel state is an item that fails with what to run instead", async () => {
  const items = sysdumpItems({ context: "prod", cluster: "prod", nodes: [{ name: "n1", ip: "10.0.0.1" }] }, recordingTools());
  await assert.rejects(items.find((i) => i.path === "nodes/n1/routes.txt")!.collect(), /network namespace of n1 is not known .* run "ip route show table all" on the node itself/);
});

test("a command that fails but printed something (health status when unhealthy) keeps its output", () => {
  assert.equal(commandOutput("trellis health status", { code: 1, stdout: "Cluster health: 2/4 reachable\n", stderr: "" }), "Cluster health: 2/4 reachable\n# trellis health status exited with code 1\n");
  assert.throws(() => commandOutput("nft list ruleset", { code: 1, stdout: "", stderr: "Operation not permitted" }), /nft list ruleset exited with code 1: Operation not permitted/);
});
