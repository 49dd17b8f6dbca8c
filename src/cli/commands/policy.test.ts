import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { pino } from "pino";
import { Agent } from "../../agent/agent.js";
import type { Endpoint, EndpointView, IdentityView, IpamLease, PolicyRepository } from "../../agent/api-types.js";
import { RecordingDatapath } from "../../datapath/fake/recording-datapath.js";
import { EtcdStore } from "../../kvstore/etcd-store.js";
import { EtcdProcess } from "../../kvstore/testing/etcd-process.js";
import { keys } from "../../resources/keys.js";
import { callUnix } from "../../util/unix-http.js";
import { emptyConfig, saveConfig, upsertContext } from "../config-file.js";
import { registerEndpointCommands } from "./endpoint.js";
import { registerIdentityCommands } from "./identity.js";
import { parseDport, parsePodRef, registerPolicyCommands } from "./policy.js";
import { registerWorkloadCommands } from "./workloads.js";
import { testClusterSettings } from "../../resources/testing/cluster-settings.js";

test("pods are named NAME, NAMESPACE/NAME or CLUSTER/NAMESPACE/NAME", () => {
  assert.deepEqual(parsePodRef("echo-1", "--dst-pod"), { namespace: "default", name: "echo-1" });
  assert.deepEqual(parsePodRef("shop/echo-1", "--dst-pod"), { namespace: "shop", name: "echo-1" });
  assert.deepEqual(parsePodRef("cluster-1/default/client-1", "--src-pod"), { cluster: "cluster-1", namespace: "default", name: "client-1" });
  assert.throws(() => parsePodRef("a/b/c/d", "--src-pod"), /--src-pod must be NAMESPACE\/NAME or CLUSTER\/NAMESPACE\/NAME \(got "a\/b\/c\/d"\)/);
  assert.throws(() => parsePodRef("default/", "--dst-pod"), /--dst-pod must be/);
});

test("--dport takes a port, or Cilium's PORT/PROTOCOL; ICMP needs none", () => {
  assert.deepEqual(parseDport("80", undefined), { dport: 80, protocol: "TCP" });
  assert.deepEqual(parseDport("53/udp", undefined), { dport: 53, protocol: "UDP" });
  assert.deepEqual(parseDport("53", "UDP"), { dport: 53, protocol: "UDP" });
  assert.deepEqual(parseDport(undefined, "icmp"), { dport: 0, protocol: "ICMP" });
  assert.throws(() => parseDport(undefined, undefined), /--dport is required/);
  assert.throws(() => parseDport("http", undefined), /--dport must be a port number 1-65535.*\(got "http"\)/);
  assert.throws(() => parseDport("53/UDP", "TCP"), /disagree/);
});

describe("policies through the CLI, as a user applies and inspects them", () => {
  const dir = mkdtempSync(join(tmpdir(), "trellis-policy-cli-"));
  const stateDir = join(dir, "state");
  let etcd: EtcdProcess;
  let store: EtcdStore;
  let agent: Agent;
  let client: Endpoint;
  let db: Endpoint;
  const savedConfig = process.env.TRELLIS_CONFIG;

  /** Runs `trellis <args>` in-process and returns what it printed (or the error it ended with). */
  async function trellis(...args: string[]): Promise<{ out: string; error?: Error }> {
    const program = new Command("trellis").exitOverride();
    registerWorkloadCommands(program);
    registerPolicyCommands(program);
    registerIdentityCommands(program);
    registerEndpointCommands(program);
    let out = "";
    const write = process.stdout.write.bind(process.stdout);
    const log = console.log;
    // The test runner reports through stdout too, in binary chunks: only the command's text is captured.
    process.stdout.write = ((chunk: unknown, ...rest: unknown[]) =>
      typeof chunk === "string" ? ((out += chunk), true) : (write as (...a: unknown[]) => boolean)(chunk, ...rest)) as typeof process.stdout.write;
    console.log = (...parts: unknown[]) => void (out += `${parts.join(" ")}\n`);
    try {
      await program.parseAsync(args, { from: "user" });
      return { out };
    } catch (e) {
      return { out, error: e as Error };
    } finally {
      process.stdout.write = write;
      console.log = log;
    }
  }

  async function eventually(what: string, f: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await f())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const policy = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: db-from-web}
spec:
  endpointSelector: {matchLabels: {app: db}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: web}}]
    toPorts: [{ports: [{port: "5432", protocol: TCP}]}]
`;
  const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: db}
spec:
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: db, ports: [{containerPort: 5432}]}]}
`;

  before(async () => {
    etcd = await EtcdProcess.start();
    store = new EtcdStore(etcd.config());
    process.env.TRELLIS_CONFIG = join(dir, "config");
    saveConfig(upsertContext(emptyConfig(), { name: "cluster-1", context: { cluster: "cluster-1", kvstore: { endpoints: [etcd.endpoint] }, "state-dir": stateDir } }));
    await store.put(keys.clusterSettings(), JSON.stringify(testClusterSettings()));
    await store.put(keys.nodeCIDR("node-1"), JSON.stringify({ podCIDR: "100.65.0.0/24" }));
    for (const [name, app] of [["web-1", "web"], ["db-1", "db"]]) {
      await store.put(keys.pod("default", name!), JSON.stringify({ name, namespace: "default", labels: { app }, node: "node-1", ports: [], image: "x", createdAt: "" }));
    }
    agent = new Agent({ store, nodeName: "node-1", nodeIP: "198.18.1.11", uplink: "lo", stateDir: join(stateDir, "nodes", "node-1"), datapath: new RecordingDatapath(), logger: pino({ level: "silent" }) });
    await agent.start();
    const add = async (containerId: string, podName: string) => {
      const lease = await callUnix<IpamLease>(agent.socketPath, "POST", "/v1/ipam", { owner: `${containerId}/eth0` });
      return callUnix<Endpoint>(agent.socketPath, "PUT", `/v1/endpoints/${containerId}`, { containerId, ifName: "eth0", netns: "/x", hostIfName: `trl${containerId.slice(0, 11)}`, ip: lease.ip, podName, podNamespace: "default" });
    };
    client = await add("aaaaaaaaaaaaaaaa", "web-1");
    db = await add("bbbbbbbbbbbbbbbb", "db-1");
  });

  after(async () => {
    await agent?.stop();
    await store?.close();
    await etcd?.cleanup();
    rmSync(dir, { recursive: true, force: true });
    if (savedConfig === undefined) delete process.env.TRELLIS_CONFIG;
    else process.env.TRELLIS_CONFIG = savedConfig;
  });

  test("apply refuses a file with an invalid policy, naming the field, and stores nothing from it", async () => {
    const r = await trellis("apply", "-f", file("bad.yaml", `${deployment}---\n${policy.replace("protocol: TCP", "protocol: TCPX")}`), "--context", "cluster-1");
    assert.match(r.error?.message ?? "", /bad\.yaml \(document 2\): invalid CiliumNetworkPolicy "db-from-web":\n {2}spec\.ingress\[0\]\.toPorts\[0\]\.ports\[0\]\.protocol: protocol "TCPX" is not a protocol/);
    assert.equal(await store.get(keys.deployment("default", "db")), undefined, "not even the valid deployment before it");
  });

  test("apply stores a mix of workloads and policies; the agent enforces the policy and every command shows it", async () => {
    const r = await trellis("apply", "-f", file("db.yaml", `${deployment}---\n${policy}`), "--context", "cluster-1");
    assert.equal(r.error, undefined);
    assert.equal(r.out, "deployment.apps/db created\nciliumnetworkpolicy.cilium.io/db-from-web created\n");
    assert.equal((await trellis("apply", "-f", join(dir, "db.yaml"), "--context", "cluster-1")).out, "deployment.apps/db unchanged\nciliumnetworkpolicy.cilium.io/db-from-web unchanged\n");

    await eventually("the agent to enforce the policy", async () => {
      const repo = JSON.parse((await trellis("policy", "get", "--context", "cluster-1", "-o", "json")).out) as PolicyRepository;
      return repo.endpoints.some((e) => e.pod === "default/db-1" && e.ingress.enforced);
    });
    const get = (await trellis("policy", "get", "--context", "cluster-1")).out;
    assert.match(get, /"io\.cilium\.k8s\.policy\.name",\n\s+"value": "db-from-web"/);
    assert.match(get, /\nRevision: 1\n$/);

    const eps = (await trellis("endpoint", "list", "--context", "cluster-1")).out.split("\n");
    assert.match(eps.find((l) => l.includes(db.ip))!, /bbbbbbbbbbbb\s+node-1\s+Enabled\s+Disabled\s+\d+\s+k8s:app=db/);
    assert.match(eps.find((l) => l.includes(client.ip))!, /Disabled\s+Disabled/);

    const ids = JSON.parse((await trellis("identity", "list", "--context", "cluster-1", "-o", "json")).out) as IdentityView[];
    assert.equal(ids.find((i) => i.id === db.identity)?.cluster, "cluster-1");
    assert.match((await trellis("identity", "list", "--context", "cluster-1")).out, new RegExp(`\\n${db.identity}\\s+cluster-1\\s+k8s:app=db\\n`));

    const allowed = await trellis("policy", "trace", "--context", "cluster-1", "--src-pod", "default/web-1", "--dst-pod", "default/db-1", "--dport", "5432");
    assert.match(allowed.out, /Found allow rule default\/db-from-web spec\.ingress\[0\]/);
    assert.match(allowed.out, /Final verdict: ALLOWED\n$/);
    const denied = await trellis("policy", "trace", "--context", "cluster-1", "--src-identity", String(client.identity), "--dst-pod", "default/db-1", "--dport", "80");
    assert.match(denied.out, /Final verdict: DENIED\n$/);
    const missing = await trellis("policy", "trace", "--context", "cluster-1", "--src-pod", "default/nope", "--dst-pod", "default/db-1", "--dport", "80");
    assert.match(missing.error?.message ?? "", /pod default\/nope is not in the ipcache/);

    assert.match((await trellis("get", "cnp", "--context", "cluster-1")).out, /^NAMESPACE\s+NAME\s+AGE\ndefault\s+db-from-web\s+\S+\n$/);
  });

  test("delete cnp removes the policy and the endpoint is no longer enforced", async () => {
    assert.equal((await trellis("delete", "cnp", "db-from-web", "--context", "cluster-1")).out, 'ciliumnetworkpolicy.cilium.io "db-from-web" deleted\n');
    assert.match((await trellis("delete", "cnp", "db-from-web", "--context", "cluster-1")).error?.message ?? "", /ciliumnetworkpolicy.cilium.io "db-from-web" not found in namespace default/);
    await eventually("enforcement to end", async () => {
      const eps = JSON.parse((await trellis("endpoint", "list", "--context", "cluster-1", "-o", "json")).out) as EndpointView[];
      return eps.every((e) => !e.policy.ingress.enforced);
    });
  });
});
