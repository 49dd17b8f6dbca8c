/**
 * Network policy through the Linux datapath, with real traffic: one node namespace (the router)
 * with three pods wired as the CNI plugin does, programmed by LinuxDatapath (routes, a NodePort
 * service, and the policy table). Namespaces are `trtest-pol-<pid>-<n>-*`.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { run } from "../../../util/exec.js";
import { DatapathCommandError } from "../../errors.js";
import type { KernelTools } from "../commands.js";
import type { DesiredNodeState, EndpointPolicyRules, NodePolicyState, PolicyDirectionRules, PolicyReconcileReport } from "../../types.js";
import { LinuxDatapath } from "../linux-datapath.js";
import { NetnsFixture, waitFor } from "../netns-fixture.js";
import { TestTopology, type TestNode, type TestPod } from "../test-topology.js";
import { POLICY_TABLE, POLICY_TABLE_FAMILY } from "./policy-layout.js";
import { PolicyTable } from "./policy-table.js";
import { PolicyTraffic } from "./policy-test-traffic.js";

const [A, B, C] = [65537, 65538, 65539];
const NODE_PORT = 30080;
const HOST = 1;

const open = (): PolicyDirectionRules => ({ enforced: false, allow: new Set(), deny: new Set() });
const rules = (enforced: boolean, allow: string[] = [], deny: string[] = []): PolicyDirectionRules => ({ enforced, allow: new Set(allow), deny: new Set(deny) });

describe("Linux datapath: network policy with real traffic", () => {
  let fixture: NetnsFixture | undefined;
  let node: TestNode;
  let a: TestPod, b: TestPod, c: TestPod;
  let dp: LinuxDatapath;
  const traffic = new PolicyTraffic();
  let ipcache: Map<string, number>;

  const nft = async (...args: string[]) => (await fixture!.exec(node.netns, "nft", args)).stdout;
  const policyFor = (pod: TestPod, ingress: PolicyDirectionRules = open(), egress: PolicyDirectionRules = open()): EndpointPolicyRules => ({
    hostIfName: pod.endpoint.hostIfName,
    ip: pod.ip,
    ingress,
    egress,
  });
  const state = (...endpoints: EndpointPolicyRules[]): NodePolicyState => ({ ipcache, endpoints });
  const apply = async (s: NodePolicyState, datapath = dp): Promise<PolicyReconcileReport> => {
    const report = await datapath.reconcilePolicy(s);
    assert.deepEqual(report.problems, []);
    return report;
  };
  const passes = async (from: TestPod, to: TestPod, port: number) => {
    const r = await traffic.connect(from.netns, to.ip, port);
    assert.equal(r.error, undefined, `${from.ip} -> ${to.ip}:${port} should pass`);
  };
  const dropped = async (from: TestPod, to: string, port: number) => {
    const r = await traffic.connect(from.netns, to, port);
    assert.equal(r.error, "ETIMEDOUT", `${from.ip} -> ${to}:${port} should be dropped, got ${JSON.stringify(r)}`);
  };
  const ping = async (from: TestPod, to: string) =>
    (await fixture!.exec(from.netns, "ping", ["-c", "1", "-W", "1", "-n", "-q", to], { allowFailure: true })).code === 0;

  before(async () => {
    fixture = await NetnsFixture.create("trtest-pol-");
    const topo = await TestTopology.create(fixture, 1);
    node = topo.nodes[0]!;
    [a, b, c] = [await topo.addPod(node, 10, "native"), await topo.addPod(node, 11, "native"), await topo.addPod(node, 12, "native")];
    const desired: DesiredNodeState = {
      ...topo.desired(node, "native"),
      services: [{ id: "default/web", protocol: "tcp", port: 80, clusterIP: "198.19.250.10", nodePort: NODE_PORT, backends: [{ ip: c.ip, port: 8080, active: true }] }],
    };
    dp = new LinuxDatapath({ netns: node.netns });
    const report = await dp.reconcile(desired);
    assert.deepEqual(report.problems, []);
    await traffic.startServer(c.netns, c.ip, [80, 8080]);
    await traffic.startServer(b.netns, b.ip, [80]);
    ipcache = new Map([
      [a.ip, A],
      [b.ip, B],
      [c.ip, C],
      [node.local.nodeIP, HOST],
    ]);
    await waitFor("a to reach c before any policy", async () => (await traffic.connect(a.netns, c.ip, 80)).error === undefined);
  });
  after(async () => {
    await traffic.stopAll();
    await fixture?.cleanup();
  });

  test("ingress: identity A on TCP 80 lets A's pod in, and nothing else: not B, not another port, not ICMP", async () => {
    const report = await apply(state(policyFor(c, rules(true, [`${A}/6/80`]))));
    assert.equal(report.endpoints.added + report.endpoints.updated, 1);
    await passes(a, c, 80);
    await dropped(b, c.ip, 80);
    await dropped(a, c.ip, 8080);
    assert.equal(await ping(a, c.ip), false, "a port rule must not allow ICMP");
    // An L3-only rule (any protocol, any port) does.
    await apply(state(policyFor(c, rules(true, [`${A}/6/80`, `${A}/0/0`]))));
    assert.equal(await ping(a, c.ip), true, "an L3-only rule allows ICMP");
    assert.equal(await ping(b, c.ip), false);
  });

  test("deny wins over allow, enforced or not", async () => {
    await apply(state(policyFor(c, rules(true, ["0/6/80"], [`${B}/0/0`]))));
    await passes(a, c, 80);
    await dropped(b, c.ip, 80);
    await apply(state(policyFor(c, rules(false, [], [`${B}/6/80`]))));
    await passes(a, c, 8080);
    await passes(b, c, 8080);
    await dropped(b, c.ip, 80);
  });

  test("egress: enforcement drops pod to pod traffic, except what is allowed; the node itself is identity host", async () => {
    await apply(state(policyFor(a, open(), rules(true))));
    await dropped(a, c.ip, 80);
    await dropped(a, b.ip, 80);
    assert.equal(await ping(a, node.local.nodeIP), false, "egress to the node is checked too (input hook)");
    await apply(state(policyFor(a, open(), rules(true, [`${C}/6/80`, `${HOST}/0/0`]))));
    await passes(a, c, 80);
    await dropped(a, c.ip, 8080);
    await dropped(a, b.ip, 80);
    assert.equal(await ping(a, node.local.nodeIP), true);
  });

  test("replies of an allowed connection pass although the server's egress allows nothing", async () => {
    await apply(state(policyFor(c, rules(true, [`${A}/6/80`]), rules(true))));
    await passes(a, c, 80);
    await dropped(a, c.ip, 8080);
  });

  test("an ipcache change takes effect as one small change: B's address becoming A is let in", async () => {
    await apply(state(policyFor(c, rules(true, [`${A}/6/80`]))));
    await dropped(b, c.ip, 80);
    ipcache = new Map(ipcache).set(b.ip, A);
    const report = await apply(state(policyFor(c, rules(true, [`${A}/6/80`]))));
    assert.deepEqual(report.ipcache, { added: 0, updated: 1, removed: 0 });
    assert.deepEqual(report.endpoints, { added: 0, updated: 0, removed: 0, kept: 1 });
    assert.equal(report.rebuilt, false);
    await passes(b, c, 80);
    ipcache = new Map(ipcache).set(b.ip, B);
    await apply(state(policyFor(c, rules(true, [`${A}/6/80`]))));
    await dropped(b, c.ip, 80);
    // An address leaving the ipcache is world.
    ipcache = new Map(ipcache);
    ipcache.delete(a.ip);
    await apply(state(policyFor(c, rules(true, ["2/6/80"]))));
    await passes(a, c, 80);
    await dropped(b, c.ip, 80);
    ipcache = new Map(ipcache).set(a.ip, A);
  });

  test("NodePort traffic is checked against the backend's ingress and still masqueraded", async () => {
    const viaNodePort = () => traffic.connect(a.netns, node.local.nodeIP, NODE_PORT);
    await apply(state());
    const unpoliced = await viaNodePort();
    assert.equal(unpoliced.error, undefined);
    assert.notEqual(unpoliced.client, a.ip, "without policy, NodePort traffic is masqueraded");
    await apply(state(policyFor(c, rules(true, [`${A}/6/8080`]))));
    const allowed = await viaNodePort();
    assert.equal(allowed.error, undefined);
    assert.equal(allowed.client, unpoliced.client, "the policy chain must keep the service table's masquerade mark");
    await apply(state(policyFor(c, rules(true, [`${B}/6/8080`]))));
    assert.equal((await viaNodePort()).error, "ETIMEDOUT", "the backend's ingress sees the client's identity, before masquerade");
  });

  test("removing the policy restores traffic and leaves no per-endpoint objects; a new instance converges", async () => {
    await apply(state(policyFor(c, rules(true, [`${A}/6/80`])), policyFor(a, open(), rules(true))));
    await dropped(b, c.ip, 80);
    const report = await apply(state());
    assert.equal(report.endpoints.removed, 2);
    await passes(b, c, 80);
    await passes(a, b, 80);
    const listing = await nft("list", "table", POLICY_TABLE_FAMILY, POLICY_TABLE);
    assert.doesNotMatch(listing, /trl[0-9a-f]{11}/, "no chain, set or map element of an endpoint is left");

    // An agent restart: a new instance over the programmed node rebuilds once and enforces the same.
    await apply(state(policyFor(c, rules(true, [`${A}/6/80`]))));
    const restarted = new LinuxDatapath({ netns: node.netns });
    const first = await apply(state(policyFor(c, rules(true, [`${A}/6/80`]))), restarted);
    assert.equal(first.rebuilt, true);
    await passes(a, c, 80);
    await dropped(b, c.ip, 80);
    const next = await apply(state(policyFor(c, rules(true, [`${B}/6/80`]))), restarted);
    assert.equal(next.rebuilt, false);
    assert.deepEqual(next.endpoints, { added: 0, updated: 1, removed: 0, kept: 0 });
    await passes(b, c, 80);
    await dropped(a, c.ip, 80);
    dp = restarted;
  });

  test("a table changed behind the agent's back is rebuilt on the next change", async () => {
    await apply(state(policyFor(c, rules(true, [`${A}/6/80`]))));
    await nft("delete", "table", POLICY_TABLE_FAMILY, POLICY_TABLE);
    await passes(b, c, 80);
    const report = await apply(state(policyFor(c, rules(true, [`${A}/6/80`, `${A}/6/8080`]))));
    assert.equal(report.rebuilt, true);
    await dropped(b, c.ip, 80);
    await passes(a, c, 8080);
  });

  test("teardown removes the policy table with the rest", async () => {
    await apply(state(policyFor(c, rules(true, [`${A}/6/80`]))));
    await dp.teardown();
    const tables = (await run("ip", ["netns", "exec", node.netns, "nft", "list", "tables"])).stdout;
    assert.equal(tables.trim(), "");
  });
});

describe("PolicyTable: when it rebuilds (nft stubbed)", () => {
  /** Records each script; fails the next `failures` calls. */
  const stub = () => {
    const scripts: string[] = [];
    let failures = 0;
    const tools = {
      nftApply: async (script: string) => {
        if (failures > 0) {
          failures--;
          throw new DatapathCommandError("nft -f -: Error: No such file or directory");
        }
        scripts.push(script);
      },
    } as unknown as KernelTools;
    return { tools, scripts, failNext: (n: number) => (failures = n) };
  };
  const ep = (allow: string[]): EndpointPolicyRules => ({ hostIfName: "trl0123456789a", ip: "100.127.1.10", ingress: rules(true, allow), egress: open() });
  const s = (identity: number, allow = ["65537/6/80"]): NodePolicyState => ({ ipcache: new Map([["100.127.1.11", identity]]), endpoints: [ep(allow)] });
  const isRebuild = (script: string | undefined) => script?.startsWith("add table ip trellis_policy\ndelete table ip trellis_policy\n") ?? false;

  test("first call and every resync period rebuild; calls in between send changes", async () => {
    let now = 0;
    const { tools, scripts } = stub();
    const table = new PolicyTable(tools, { resyncMs: 1000, now: () => now });
    assert.equal((await table.reconcile(s(65537))).rebuilt, true);
    now = 999;
    const change = await table.reconcile(s(65538));
    assert.equal(change.rebuilt, false);
    assert.equal(scripts.at(-1), "delete element ip trellis_policy ipcache { 100.127.1.11 }\nadd element ip trellis_policy ipcache { 100.127.1.11 : 65538 }\n");
    const unchanged = scripts.length;
    await table.reconcile(s(65538));
    assert.equal(scripts.length, unchanged, "nothing to do sends nothing");
    now = 1000;
    const resync = await table.reconcile(s(65538));
    assert.deepEqual([resync.rebuilt, resync.ipcache.updated, resync.endpoints.kept], [true, 0, 1]);
    assert.ok(isRebuild(scripts.at(-1)));
  });

  test("a failed change falls back to a rebuild; a failed rebuild is a problem, and the next call rebuilds", async () => {
    const { tools, scripts, failNext } = stub();
    const table = new PolicyTable(tools);
    await table.reconcile(s(65537));
    failNext(1);
    const recovered = await table.reconcile(s(65538));
    assert.deepEqual([recovered.rebuilt, recovered.problems], [true, []]);
    assert.ok(isRebuild(scripts.at(-1)));
    failNext(2);
    const failed = await table.reconcile(s(65537, ["65537/6/443"]));
    assert.equal(failed.rebuilt, false);
    assert.match(failed.problems[0]!.message, /could not program the policy table ip trellis_policy: nft -f -/);
    assert.deepEqual(failed.endpoints, { added: 0, updated: 0, removed: 0, kept: 0 }, "nothing was applied");
    const next = await table.reconcile(s(65537, ["65537/6/443"]));
    assert.deepEqual([next.rebuilt, next.problems], [true, []]);
    assert.ok(isRebuild(scripts.at(-1)));
  });
});
