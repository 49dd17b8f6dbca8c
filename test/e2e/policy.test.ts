import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { configDir, eventually, freshStart, pods, runningPods, trellis, trellisJson, type PodRow } from "./helpers.js";

/**
 * Identity-based policy across a connected 2 × 2 mesh, as a user applies and checks it: a policy
 * on cluster-2's echo pods that admits only cluster-1's clients on TCP 80 (directly and through a
 * global service), an egress policy that confines cluster-1's clients to cluster-2, and the
 * commands that show and explain what is enforced.
 */
const deployment = (name: string, labels: Record<string, string>, ports: number[], replicas = 1) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: ${JSON.stringify(labels)}}
  template:
    metadata: {labels: ${JSON.stringify(labels)}}
    spec: {containers: [{name: ${name}, image: echo, ports: [${ports.map((p) => `{containerPort: ${p}}`).join(", ")}]}]}
`;
const echoService = `apiVersion: v1
kind: Service
metadata:
  name: echo
  annotations: {service.cilium.io/global: "true"}
spec:
  ports: [{port: 80}]
  selector: {app: echo}
`;
const ingressPolicy = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: echo-from-cluster-1-clients}
spec:
  endpointSelector: {matchLabels: {app: echo}}
  ingress:
  - fromEndpoints:
    - matchLabels: {app: client, io.cilium.k8s.policy.cluster: cluster-1}
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
`;
const egressPolicy = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: clients-only-to-cluster-2}
spec:
  endpointSelector: {matchLabels: {app: client}}
  egress:
  - toEndpoints:
    - matchLabels: {io.cilium.k8s.policy.cluster: cluster-2}
`;
const invalidPolicy = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: broken}
spec:
  endpointSelector: {matchLabels: {app: echo}}
  ingress:
  - toPorts:
    - ports: [{port: "80", protocol: TCPX}]
`;

/** Whether `from` gets an HTTP answer from `url` within 2 s (curl exits 28 on a dropped SYN). */
function reaches(ctx: string, from: PodRow, url: string): boolean {
  const r = trellis(["exec", from.name, "--context", ctx, "--", "curl", "-s", "-m", "2", "-o", "/dev/null", "-w", "%{http_code}", url], { allowFailure: true });
  return r.code === 0 && r.stdout.trim() === "200";
}

function pod(ctx: string, app: string): PodRow {
  const p = pods(ctx).find((x) => x.labels.app === app);
  assert.ok(p, `a pod with app=${app} in ${ctx}`);
  return p;
}

describe("network policy across clusters", () => {
  const file = (name: string, content: string) => {
    const path = join(configDir, name);
    writeFileSync(path, content);
    return path;
  };
  let echo: PodRow;
  let client1: PodRow;
  let other1: PodRow;
  let client2: PodRow;
  let echoVip1: string;
  let echoVip2: string;

  before(() => freshStart());
  after(() => trellis(["lab", "down"], { allowFailure: true }));

  test("a connected mesh with echo pods in cluster-2 and clients in both clusters, all reachable", async () => {
    trellis(["lab", "up", "--clusters", "2", "--nodes", "2"]);
    for (const ctx of ["cluster-1", "cluster-2"]) trellis(["clustermesh", "enable", "--context", ctx]);
    trellis(["clustermesh", "connect", "--context", "cluster-1", "--destination-context", "cluster-2"]);
    for (const ctx of ["cluster-1", "cluster-2"]) trellis(["clustermesh", "status", "--context", ctx, "--wait", "--wait-duration", "2m"]);
    const client = file("client.yaml", deployment("client", { app: "client" }, [80]));
    const other = file("other.yaml", deployment("other", { app: "other" }, [80]));
    const echoes = file("echo.yaml", deployment("echo", { app: "echo" }, [80, 8080], 2));
    const svc = file("echo-svc.yaml", echoService);
    trellis(["apply", "-f", client, "--context", "cluster-1"]);
    trellis(["apply", "-f", other, "--context", "cluster-1"]);
    trellis(["apply", "-f", svc, "--context", "cluster-1"]);
    for (const f of [client, echoes, svc]) trellis(["apply", "-f", f, "--context", "cluster-2"]);
    await runningPods("cluster-1", 2);
    await runningPods("cluster-2", 3);
    echo = pod("cluster-2", "echo");
    client1 = pod("cluster-1", "client");
    other1 = pod("cluster-1", "other");
    client2 = pod("cluster-2", "client");
    echoVip1 = (JSON.parse(trellis(["get", "svc", "echo", "--context", "cluster-1", "-o", "json"]).stdout) as { clusterIP: string }).clusterIP;
    echoVip2 = (JSON.parse(trellis(["get", "svc", "echo", "--context", "cluster-2", "-o", "json"]).stdout) as { clusterIP: string }).clusterIP;
    // Without a policy everything is open: the drops asserted below are the policy's doing.
    await eventually("cluster-1's echo service to have cluster-2's backends", () => reaches("cluster-1", client1, `http://${echoVip1}/`), 60_000, 500);
    for (const [ctx, from] of [["cluster-1", client1], ["cluster-1", other1], ["cluster-2", client2]] as const) {
      assert.ok(reaches(ctx, from, `http://${echo.ip}/`), `${ctx}/${from.name} reaches echo:80 before any policy`);
      assert.ok(reaches(ctx, from, `http://${echo.ip}:8080/`), `${ctx}/${from.name} reaches echo:8080 before any policy`);
    }
  });

  test("an invalid policy is refused, naming the field, and nothing is stored", () => {
    const r = trellis(["apply", "-f", file("broken.yaml", invalidPolicy), "--context", "cluster-2"], { allowFailure: true });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /protocol/);
    assert.match(r.stderr, /TCPX/);
    assert.doesNotMatch(trellis(["policy", "get", "--context", "cluster-2", "-o", "json"]).stdout, /broken/);
  });

  test("ingress on cluster-2's echo pods: only cluster-1's clients, only TCP 80", async () => {
    trellis(["apply", "-f", file("ingress.yaml", ingressPolicy), "--context", "cluster-2"]);
    const url = `http://${echo.ip}/`;
    await eventually("cluster-2's client to be dropped", () => !reaches("cluster-2", client2, url), 30_000, 500);
    assert.ok(reaches("cluster-1", client1, url), "a cluster-1 client gets through on port 80");
    assert.ok(!reaches("cluster-1", other1, url), "a cluster-1 pod without app=client is dropped");
    assert.ok(!reaches("cluster-2", client2, url), "a cluster-2 client (the label, the wrong cluster) is dropped");
    assert.ok(!reaches("cluster-1", client1, `http://${echo.ip}:8080/`), "port 8080 is dropped");
    const ping = trellis(["exec", client1.name, "--context", "cluster-1", "--", "ping", "-c", "1", "-W", "1", echo.ip!], { allowFailure: true });
    assert.notEqual(ping.code, 0, "ICMP is not TCP 80: dropped");
  });

  test("traffic through the global service obeys the same rules", () => {
    assert.ok(reaches("cluster-1", client1, `http://${echoVip1}/`), "cluster-1 client through cluster-1's global service (remote backends)");
    assert.ok(!reaches("cluster-1", other1, `http://${echoVip1}/`), "cluster-1 pod without the label through the service");
    assert.ok(!reaches("cluster-2", client2, `http://${echoVip2}/`), "cluster-2 client through cluster-2's service");
  });

  test("policy get, endpoint list, identity list and policy trace show and explain it", () => {
    const policies = trellis(["policy", "get", "--context", "cluster-2", "-o", "yaml"]).stdout;
    assert.match(policies, /echo-from-cluster-1-clients/);
    assert.equal(trellis(["policy", "get", "--context", "cluster-1", "-o", "json"]).stdout.includes("echo-from-cluster-1-clients"), false, "policies stay in their cluster");

    const endpoints = trellis(["endpoint", "list", "--context", "cluster-2"]).stdout;
    const echoLine = endpoints.split("\n").find((l) => l.includes(echo.ip!));
    assert.ok(echoLine, `endpoint list shows ${echo.ip}:\n${endpoints}`);
    assert.match(echoLine, /Enabled\s+Disabled/, "echo: ingress enforced, egress not");
    const clientLine = endpoints.split("\n").find((l) => l.includes(client2.ip!));
    assert.match(clientLine ?? "", /Disabled\s+Disabled/);

    const identities = trellis(["identity", "list", "--context", "cluster-2"]).stdout;
    const remoteClient = identities.split("\n").find((l) => l.includes("cluster-1") && l.includes("app=client"));
    assert.ok(remoteClient, `cluster-2 knows cluster-1's client identity:\n${identities}`);

    const allowed = trellis(["policy", "trace", "--context", "cluster-2", "--src-pod", `cluster-1/default/${client1.name}`, "--dst-pod", `default/${echo.name}`, "--dport", "80"], { allowFailure: true });
    assert.match(allowed.stdout, /ALLOWED/i, allowed.stdout + allowed.stderr);
    assert.match(allowed.stdout, /echo-from-cluster-1-clients/);
    const denied = trellis(["policy", "trace", "--context", "cluster-2", "--src-pod", `cluster-1/default/${client1.name}`, "--dst-pod", `default/${echo.name}`, "--dport", "8080"], { allowFailure: true });
    assert.match(denied.stdout, /DENIED/i, denied.stdout + denied.stderr);
  });

  test("egress on cluster-1's clients, allowing only cluster-2: traffic within cluster-1 is dropped", async () => {
    const url = `http://${other1.ip}/`;
    assert.ok(reaches("cluster-1", client1, url), "before the egress policy the client reaches a pod of its own cluster");
    trellis(["apply", "-f", file("egress.yaml", egressPolicy), "--context", "cluster-1"]);
    await eventually("cluster-1's client to lose its own cluster", () => !reaches("cluster-1", client1, url), 30_000, 500);
    assert.ok(reaches("cluster-1", client1, `http://${echo.ip}/`), "cluster-2 stays allowed (and its ingress policy admits the client)");
    trellis(["delete", "-f", join(configDir, "egress.yaml"), "--context", "cluster-1"]);
    await eventually("the client to reach its own cluster again once the policy is deleted", () => reaches("cluster-1", client1, url), 30_000, 500);
  });

  test("disconnecting withdraws the peer's identities", async () => {
    trellis(["clustermesh", "disconnect", "--context", "cluster-1", "--destination-context", "cluster-2"]);
    await eventually("cluster-1's identities to leave cluster-2", () => {
      const list = trellisJson<{ cluster?: string }[]>(["identity", "list", "--context", "cluster-2"]);
      return !list.some((i) => i.cluster === "cluster-1");
    }, 60_000, 500);
  });
});
