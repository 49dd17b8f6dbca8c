/**
 * The pod runner against the real kernel and the real CNI plugin: a "node" network namespace
 * (the plugin runs inside it, as it would under a runner on a lab node), pod namespaces the runner
 * makes, pod servers it starts, and a stand-in for the agent's local API that hands out addresses
 * with the real IPAM allocator. Desired state lives in an in-memory store, as the operator would
 * write it. Everything is named trtest-pr-<pid>-...; leftovers of crashed runs are removed first.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, afterEach, before, describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { hostVethName } from "../cni/index.js";
import { FakeAgent } from "../cni/testing/fake-agent.js";
import { IpAllocator } from "../ipam/index.js";
import { MemoryStore } from "../kvstore/memory-store.js";
import { keys } from "../resources/keys.js";
import type { PodSpec, PodStatus } from "../resources/pod.js";
import { setLogLevel } from "../log/logger.js";
import { deleteNetns, listNetns, netnsPids } from "./netns.js";
import { PodRunner, type PodRunnerOptions } from "./pod-runner.js";
import { CniRuntime, trellisNetConfig, type CniSettings } from "./pod-runner-cni.js";
import { execInPod, PodExecError } from "./pod-runner-process.js";
import { podRecordPath, savePodRecord } from "./pod-runner-record.js";
import { podNetnsName } from "./pod-netns.js";

const PREFIX = `trtest-pr-${process.pid}-`;
const NODE_NS = `${PREFIX}node`;
const NODE = "node-1";
const CLUSTER = "cluster-7";
const CLUSTER_INDEX = 7;
const POD_CIDR = "100.127.249.0/24";
const ROUTER_IP = "100.127.249.1";

const here = fileURLToPath(import.meta.url);
const fromSource = here.endsWith(".ts");
/** src/, or dist/src/ when the compiled test runs. */
const srcRoot = resolve(dirname(here), "..");
const ext = fromSource ? "ts" : "js";
const nodeImport = fromSource ? ["--import", import.meta.resolve("tsx")] : [];

let workDir: string;
let agent: FakeAgent;
let store: MemoryStore;
let cniBinDir: string;
let podServerScript: string;
const runners: PodRunner[] = [];

// ---------------------------------------------------------------------------------------------
// Helpers

function sh(cmd: string, args: string[], options: { allowFailure?: boolean } = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 20_000 });
  const code = r.status ?? 1;
  if (code !== 0 && !options.allowFailure) throw new Error(`${cmd} ${args.join(" ")} failed (${code}): ${r.stderr}`);
  return { code, stdout: r.stdout, stderr: r.stderr };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/s.test(sh("cat", [`/proc/${pid}/stat`], { allowFailure: true }).stdout);
  } catch {
    return false;
  }
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(50);
  }
}

function cniSettings(): CniSettings {
  return { binDirs: [cniBinDir], netConfig: { ...trellisNetConfig(agent.socket), agentTimeoutSeconds: 5 }, nodeNetns: NODE_NS };
}

function newRunner(stateDir: string, overrides: Partial<PodRunnerOptions> = {}): PodRunner {
  const runner = new PodRunner({
    store,
    clusterIndex: CLUSTER_INDEX,
    clusterName: CLUSTER,
    nodeName: NODE,
    stateDir,
    cni: cniSettings(),
    podServer: { command: process.execPath, args: [...nodeImport, podServerScript] },
    netnsPrefix: PREFIX,
    resyncIntervalMs: 300,
    retryInitialMs: 200,
    retryMaxMs: 1000,
    stopGraceMs: 2000,
    ...overrides,
  });
  runners.push(runner);
  return runner;
}

async function startRunner(stateDir: string): Promise<PodRunner> {
  const runner = newRunner(stateDir);
  await runner.start();
  return runner;
}

const stateDirs = new Set<string>();
function stateDirFor(test: string): string {
  const dir = join(workDir, test);
  stateDirs.add(dir);
  return dir;
}

async function putPod(namespace: string, name: string, extra: Partial<PodSpec> = {}): Promise<void> {
  const spec: PodSpec = { name, namespace, labels: { app: name }, node: NODE, ports: [80, 8080], image: "nginx", createdAt: new Date().toISOString(), ...extra };
  await store.put(keys.pod(namespace, name), JSON.stringify(spec));
}

async function podStatus(namespace: string, name: string): Promise<PodStatus | undefined> {
  const kv = await store.get(keys.podStatus(namespace, name));
  return kv ? (JSON.parse(kv.value.toString()) as PodStatus) : undefined;
}

async function running(namespace: string, name: string): Promise<PodStatus & { ip: string; netns: string; containerId: string }> {
  return eventually(`${namespace}/${name} is Running`, async () => {
    const s = await podStatus(namespace, name);
    return s?.phase === "Running" ? (s as PodStatus & { ip: string; netns: string; containerId: string }) : undefined;
  });
}

function netnsExists(name: string): boolean {
  return sh("ip", ["netns", "list"]).stdout.split("\n").some((l) => l.split(" ")[0] === name);
}

function hostVethExists(containerId: string): boolean {
  return sh("ip", ["-n", NODE_NS, "link", "show", "dev", hostVethName(containerId)], { allowFailure: true }).code === 0;
}

/** GET from the node's namespace, after adding the host route the agent's datapath would add. */
function httpFromNode(status: { ip: string; containerId: string }, port: number): Record<string, unknown> | undefined {
  sh("ip", ["-n", NODE_NS, "route", "replace", `${status.ip}/32`, "dev", hostVethName(status.containerId)]);
  const r = sh("ip", ["netns", "exec", NODE_NS, "curl", "-s", "--max-time", "2", `http://${status.ip}:${port}/`], { allowFailure: true });
  if (r.code !== 0) return undefined;
  try {
    return JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

async function serverPids(netns: string): Promise<number[]> {
  return netnsPids(netns);
}

// ---------------------------------------------------------------------------------------------

before(async () => {
  // The runner's retry warnings are expected here; TRELLIS_LOG_LEVEL=info shows them.
  if (!process.env.TRELLIS_LOG_LEVEL) setLogLevel("error");
  // Leftovers of runs that crashed: namespaces (and the pod servers in them) of dead test processes.
  for (const name of await listNetns()) {
    const m = /^trtest-pr-(\d+)-/.exec(name);
    if (m && !alive(Number(m[1]))) await deleteNetns(name);
  }
  sh("ip", ["netns", "add", NODE_NS]);
  sh("ip", ["-n", NODE_NS, "link", "set", "lo", "up"]);
  // The router IP on the node, as the agent's datapath would put it (docs/agent-api.md).
  sh("ip", ["-n", NODE_NS, "addr", "add", `${ROUTER_IP}/32`, "dev", "lo"]);

  workDir = await mkdtemp(join(tmpdir(), "trellis-pod-runner-test-"));
  cniBinDir = join(workDir, "cni-bin");
  await mkdir(cniBinDir);
  const pluginMain = join(srcRoot, "cni", `main.${ext}`);
  const plugin = join(cniBinDir, "trellis-cni");
  await writeFile(plugin, `#!/bin/sh\nTRELLIS_LOG_LEVEL=warn exec '${process.execPath}' ${nodeImport.map((a) => `'${a}'`).join(" ")} '${pluginMain}'\n`);
  await chmod(plugin, 0o755);

  const podServerModule = pathToFileURL(join(srcRoot, "lab", `pod-server.${ext}`)).href;
  podServerScript = join(workDir, "pod-server.mjs");
  await writeFile(
    podServerScript,
    [
      `import { runPodServer } from ${JSON.stringify(podServerModule)};`,
      `const a = process.argv.slice(2);`,
      `const opt = (n) => a[a.indexOf("--" + n) + 1];`,
      `await runPodServer({ pod: opt("name"), namespace: opt("namespace"), node: opt("node"), cluster: opt("cluster") }, opt("ports").split(",").map(Number));`,
    ].join("\n"),
  );

  const ipam = await IpAllocator.open({ cidr: POD_CIDR, stateFile: join(workDir, "ipam.json") });
  agent = new FakeAgent(join(workDir, "agent.sock"), ipam);
  await agent.start();
  store = new MemoryStore();
});

/** Every test leaves nothing behind, even when it failed: pods removed from each record, store emptied. */
afterEach(async () => {
  for (const r of runners.splice(0)) await r.stop();
  await agent.start();
  for (const dir of stateDirs) {
    const cleaner = newRunner(dir);
    runners.pop();
    await cleaner.stopAll().catch((e: Error) => console.error(`cleanup of ${dir}: ${e.message}`));
  }
  stateDirs.clear();
  await store.deletePrefix("trellis/");
  for (const name of await listNetns()) if (name.startsWith(PREFIX) && name !== NODE_NS) await deleteNetns(name);
});

after(async () => {
  await agent?.stop();
  for (const name of await listNetns()) if (name.startsWith(PREFIX)) await deleteNetns(name);
  await store?.close();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe("pod runner", () => {
  test("a scheduled pod runs: Running with an IP, its server answers from the node; deleted, nothing is left", async () => {
    const stateDir = stateDirFor("lifecycle");
    const runner = await startRunner(stateDir);
    await putPod("shop", "web-1");
    await putPod("shop", "elsewhere", { node: "node-2" });

    const s = await running("shop", "web-1");
    assert.equal(s.node, NODE);
    assert.equal(s.netns, podNetnsName(CLUSTER_INDEX, "shop", "web-1", PREFIX));
    assert.match(s.netns, new RegExp(`^${PREFIX}c7-pod-[0-9a-f]{8}$`));
    assert.match(s.containerId, /^[0-9a-f]{64}$/);
    assert.ok(s.ip.startsWith("100.127.249."), s.ip);
    assert.ok(netnsExists(s.netns), "the pod's namespace exists");
    assert.ok(hostVethExists(s.containerId), "the plugin made the host veth in the node's namespace");
    assert.deepEqual(agent.endpoints.get(s.containerId), {
      containerId: s.containerId,
      ifName: "eth0",
      netns: `/run/netns/${s.netns}`,
      hostIfName: hostVethName(s.containerId),
      ip: s.ip,
      podName: "web-1",
      podNamespace: "shop",
    });
    assert.equal(await podStatus("shop", "elsewhere"), undefined, "a pod scheduled on another node is not run here");

    for (const port of [80, 8080]) {
      const answer = await eventually(`the pod answers on port ${port}`, () => httpFromNode(s, port));
      assert.deepEqual({ ...answer, client: undefined }, { pod: "web-1", namespace: "shop", node: NODE, cluster: CLUSTER, client: undefined });
    }
    assert.match(await readFile(join(stateDir, "pods", "shop_web-1.log"), "utf8"), /pod shop\/web-1 .* serving on 80, 8080/);
    const [pid] = await serverPids(s.netns);
    assert.ok(pid, "the pod server runs inside the pod's namespace");
    assert.equal(await execInPod(s.netns, ["sh", "-c", `ip -o -4 addr show dev eth0 | grep -q ' ${s.ip}/32 '`]), 0, "trellis exec runs inside the pod");
    assert.equal(await execInPod(s.netns, ["false"]), 1, "the command's exit code is passed on");
    await assert.rejects(execInPod(`${PREFIX}no-such-pod`, ["true"]), (e: Error) => e instanceof PodExecError && /no-such-pod does not exist/.test(e.message));

    await store.delete(keys.pod("shop", "web-1"));
    await eventually("the pod's namespace and status are gone", async () => !netnsExists(s.netns) && (await podStatus("shop", "web-1")) === undefined);
    await eventually("the record is empty", () => runner.recorded().length === 0);
    assert.equal(hostVethExists(s.containerId), false, "the host veth is gone");
    assert.equal(await agent.ipam.get(`${s.containerId}/eth0`), undefined, "the IP is released");
    assert.equal(agent.endpoints.has(s.containerId), false, "the endpoint is unregistered");
    assert.equal(agent.releasesFor(s.containerId), 1, "the agent saw one DEL");
    assert.equal(alive(pid), false, "the pod server was stopped");
    assert.deepEqual(JSON.parse(await readFile(podRecordPath(stateDir), "utf8")).pods, []);
    await store.delete(keys.pod("shop", "elsewhere"));
  });

  test("a pod server that dies is restarted in the same pod", async () => {
    await startRunner(stateDirFor("restart"));
    await putPod("shop", "crashy");
    const s = await running("shop", "crashy");
    const [before] = await eventually("the server runs", async () => {
      const pids = await serverPids(s.netns);
      return pids.length ? pids : undefined;
    });
    assert.ok(before);
    process.kill(before, "SIGKILL");

    const [afterPid] = await eventually("a new server runs", async () => {
      const pids = await serverPids(s.netns);
      return pids.length && !pids.includes(before) ? pids : undefined;
    });
    assert.notEqual(afterPid, before);
    const answer = await eventually("the restarted server answers", () => httpFromNode(s, 80));
    assert.equal(answer.pod, "crashy");
    const now = await running("shop", "crashy");
    assert.equal(now.containerId, s.containerId, "same pod instance: the network was not set up again");
    assert.equal(now.ip, s.ip);
    assert.equal(agent.addsFor(s.containerId), 1, "no second CNI ADD");
    await store.delete(keys.pod("shop", "crashy"));
    await eventually("the pod is removed", () => !netnsExists(s.netns));
  });

  test("a restarted runner adopts running pods without re-creating them and cleans up a pod deleted meanwhile", async () => {
    const stateDir = stateDirFor("adopt");
    const first = await startRunner(stateDir);
    await putPod("shop", "keep");
    await putPod("shop", "gone");
    const keep = await running("shop", "keep");
    const gone = await running("shop", "gone");
    const [keepPid] = await eventually("keep's server runs", async () => {
      const pids = await serverPids(keep.netns);
      return pids.length ? pids : undefined;
    });
    assert.ok(keepPid);
    await first.stop();
    assert.ok(alive(keepPid), "stopping the runner leaves pods running");
    assert.ok(netnsExists(gone.netns));

    await store.delete(keys.pod("shop", "gone"));
    const namespacesBefore = (await listNetns()).filter((n) => n.startsWith(PREFIX)).sort();
    const second = newRunner(stateDir);
    await second.start();
    await second.waitSynced();

    // Adopted: same process, same attachment, no second ADD.
    assert.ok(alive(keepPid), "keep's server was not restarted");
    assert.deepEqual(await serverPids(keep.netns), [keepPid]);
    assert.equal(agent.addsFor(keep.containerId), 1);
    const keepNow = await running("shop", "keep");
    assert.equal(keepNow.containerId, keep.containerId);
    assert.equal(keepNow.ip, keep.ip);
    assert.ok(httpFromNode(keep, 80));
    // Cleaned up: the pod deleted while no runner was watching.
    assert.equal(netnsExists(gone.netns), false);
    assert.equal(await podStatus("shop", "gone"), undefined);
    assert.equal(await agent.ipam.get(`${gone.containerId}/eth0`), undefined);
    assert.equal(agent.releasesFor(gone.containerId), 1);
    assert.deepEqual(
      (await listNetns()).filter((n) => n.startsWith(PREFIX)).sort(),
      namespacesBefore.filter((n) => n !== gone.netns),
      "no namespace was created",
    );
    assert.deepEqual(second.recorded().map((r) => `${r.namespace}/${r.name}`), ["shop/keep"]);

    // The adopted server is still watched: killed, it comes back.
    process.kill(keepPid, "SIGKILL");
    await eventually("the adopted pod's server is restarted", async () => {
      const pids = await serverPids(keep.netns);
      return pids.length > 0 && !pids.includes(keepPid);
    });
    await store.delete(keys.pod("shop", "keep"));
    await eventually("keep is removed", () => !netnsExists(keep.netns));
  });

  test("agent down during ADD: Pending with the plugin's message, then Running once the agent is back", async () => {
    await agent.stop();
    try {
      await startRunner(stateDirFor("agent-down"));
      await putPod("shop", "early");
      const pending = await eventually("the pod is Pending", async () => {
        const s = await podStatus("shop", "early");
        return s?.phase === "Pending" ? s : undefined;
      });
      assert.match(pending.message ?? "", /code 11/);
      assert.match(pending.message ?? "", /trellis agent not reachable at .*agent\.sock/);
      assert.equal(pending.ip, undefined);
      assert.equal(pending.node, NODE);
    } finally {
      await agent.start();
    }
    const s = await running("shop", "early");
    assert.ok(await eventually("the pod answers", () => httpFromNode(s, 80)));
    assert.equal(agent.addsFor(s.containerId), 1, "one ADD reached the agent");
    await store.delete(keys.pod("shop", "early"));
    await eventually("the pod is removed", async () => (await podStatus("shop", "early")) === undefined && !netnsExists(s.netns));
  });

  test("a pod deleted while the agent is down goes at once; its DEL is retried until the agent is back", async () => {
    const runner = await startRunner(stateDirFor("del-later"));
    await putPod("shop", "late");
    const s = await running("shop", "late");
    await agent.stop();
    try {
      await store.delete(keys.pod("shop", "late"));
      await eventually("netns and status are gone", async () => !netnsExists(s.netns) && (await podStatus("shop", "late")) === undefined);
      assert.equal(hostVethExists(s.containerId), false);
      const recorded = runner.recorded();
      assert.deepEqual(
        recorded.map((r) => [r.containerId, r.state, r.cniAttached]),
        [[s.containerId, "deleting", true]],
        "kept in the record until DEL succeeds",
      );
      assert.ok(await agent.ipam.get(`${s.containerId}/eth0`), "the agent still holds the IP");
    } finally {
      await agent.start();
    }
    await eventually("the DEL reaches the agent", async () => (await agent.ipam.get(`${s.containerId}/eth0`)) === undefined);
    await eventually("the record is empty", () => runner.recorded().length === 0);
    assert.equal(agent.endpoints.has(s.containerId), false);
  });

  test("a pod rescheduled to another node while the runner was down is removed here, and the new node's status is left alone", async () => {
    const stateDir = stateDirFor("moved");
    const first = await startRunner(stateDir);
    await putPod("shop", "mover");
    const s = await running("shop", "mover");
    await first.stop();
    await putPod("shop", "mover", { node: "node-2" });
    const theirs: PodStatus = { name: "mover", namespace: "shop", node: "node-2", phase: "Pending", updatedAt: new Date().toISOString() };
    await store.put(keys.podStatus("shop", "mover"), JSON.stringify(theirs));

    const second = newRunner(stateDir);
    await second.start();
    await second.waitSynced();
    assert.equal(netnsExists(s.netns), false);
    assert.equal(agent.releasesFor(s.containerId), 1);
    assert.deepEqual(await podStatus("shop", "mover"), theirs);
    assert.deepEqual(second.recorded(), []);
    await store.delete(keys.pod("shop", "mover"));
    await store.delete(keys.podStatus("shop", "mover"));
  });

  test("a runner that crashed while creating pods finishes them on restart, leaking and duplicating nothing", async () => {
    const stateDir = stateDirFor("crashed");
    await putPod("shop", "half-ns");
    await putPod("shop", "half-add");
    const createdAt = async (name: string) => (JSON.parse((await store.get(keys.pod("shop", name)))!.value.toString()) as PodSpec).createdAt;
    // Crashed right after `ip netns add`, before recording it.
    const nsOnly = { namespace: "shop", name: "half-ns", createdAt: await createdAt("half-ns"), containerId: "a".repeat(64), netns: podNetnsName(CLUSTER_INDEX, "shop", "half-ns", PREFIX) };
    sh("ip", ["netns", "add", nsOnly.netns]);
    // Crashed while ADD ran: the plugin attached the pod, but its result never reached the record.
    const midAdd = { namespace: "shop", name: "half-add", createdAt: await createdAt("half-add"), containerId: "b".repeat(64), netns: podNetnsName(CLUSTER_INDEX, "shop", "half-add", PREFIX) };
    sh("ip", ["netns", "add", midAdd.netns]);
    const earlier = await new CniRuntime(cniSettings()).add({ containerId: midAdd.containerId, netnsPath: `/run/netns/${midAdd.netns}`, podNamespace: "shop", podName: "half-add" });
    await savePodRecord(podRecordPath(stateDir), { cluster: CLUSTER, node: NODE }, [
      { ...nsOnly, netnsCreated: false, cniAttached: false, state: "creating" },
      { ...midAdd, netnsCreated: true, cniAttached: true, state: "creating" },
    ]);

    const runner = await startRunner(stateDir);
    const a = await running("shop", "half-ns");
    const b = await running("shop", "half-add");
    await runner.waitSynced();
    assert.equal(a.containerId, nsOnly.containerId, "the recorded instance is finished, not replaced");
    assert.equal(a.netns, nsOnly.netns);
    assert.equal(b.containerId, midAdd.containerId);
    assert.equal(agent.releasesFor(midAdd.containerId), 1, "the interrupted ADD was undone with DEL before ADD again");
    assert.equal(agent.addsFor(midAdd.containerId), 2);
    assert.ok(earlier.ip);
    assert.ok(hostVethExists(b.containerId));
    const podNamespaces = (await listNetns()).filter((n) => n.startsWith(PREFIX) && n !== NODE_NS).sort();
    assert.deepEqual(podNamespaces, [nsOnly.netns, midAdd.netns].sort(), "one namespace per pod");
    for (const s of [a, b]) assert.ok(await eventually(`${s.name} answers`, () => httpFromNode(s, 80)));
  });

  test("stopAll removes every pod it runs (lab down)", async () => {
    const runner = await startRunner(stateDirFor("stop-all"));
    await putPod("db", "one");
    await putPod("db", "two");
    const one = await running("db", "one");
    const two = await running("db", "two");
    const report = await runner.stopAll();
    assert.deepEqual(report, { removed: ["db/one", "db/two"], incomplete: [] });
    for (const s of [one, two]) {
      assert.equal(netnsExists(s.netns), false);
      assert.equal(hostVethExists(s.containerId), false);
      assert.equal(await agent.ipam.get(`${s.containerId}/eth0`), undefined);
    }
    assert.equal(await podStatus("db", "one"), undefined);
    assert.equal(await podStatus("db", "two"), undefined);
    await store.delete(keys.pod("db", "one"));
    await store.delete(keys.pod("db", "two"));
  });
});
