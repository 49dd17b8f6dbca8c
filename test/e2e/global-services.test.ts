import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { configDir, eventually, freshStart, labLeftovers, pods, runningPods, trellis, trellisBackground } from "./helpers.js";

/**
 * Seed 002's second half on a connected 2 × 2 mesh: nginx in both clusters, a global LoadBalancer
 * service with affinity local, 4 backends of which 2 preferred, traffic kept local, failover to the
 * other cluster when no local backend is left (ClusterIP from a pod, LB IP from the admin
 * namespace, NodePort), and migration back.
 */
const nginx = (replicas: number) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx-deployment
spec:
  selector:
    matchLabels:
      app: nginx
  replicas: ${replicas}
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx:1.16.1
        ports:
        - containerPort: 80
`;
const client = `apiVersion: apps/v1
kind: Deployment
metadata: {name: client}
spec:
  replicas: 1
  selector: {matchLabels: {app: client}}
  template:
    metadata: {labels: {app: client}}
    spec: {containers: [{name: client, image: curl}]}
`;
const service = `apiVersion: v1
kind: Service
metadata:
  labels:
    app: nginx
  name: nginx-deployment
  annotations:
    io.cilium/global-service: "true"
    io.cilium/service-affinity: "local"
spec:
  type: LoadBalancer
  ports:
  - port: 80
    protocol: TCP
    targetPort: 80
  selector:
    app: nginx
`;

interface Svc {
  clusterIP: string;
  externalIPs: string[];
  ports: string;
}

function svc(ctx: string): Svc {
  return JSON.parse(trellis(["get", "svc", "nginx-deployment", "--context", ctx, "-o", "json"]).stdout) as Svc;
}

/** Which clusters answered `n` fresh connections (the pod server names its cluster). */
function clustersAnswering(ctx: string, fromPod: string, url: string, n = 12): string[] {
  const out = trellis(["exec", fromPod, "--context", ctx, "--", "sh", "-c", `for i in $(seq ${n}); do curl -s -m 2 ${url}; echo; done`]).stdout;
  return [...new Set([...out.matchAll(/"cluster":"([^"]+)"/g)].map((m) => m[1]!))].sort();
}

function fromAdmin(url: string, n = 8): string[] {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const r = spawnSync("curl", ["-s", "-m", "2", url], { encoding: "utf8" });
    const c = /"cluster":"([^"]+)"/.exec(r.stdout)?.[1];
    if (c) seen.add(c);
  }
  return [...seen].sort();
}

function serviceList(ctx: string): string {
  return trellis(["service", "list", "--context", ctx, "--clustermesh-affinity"]).stdout;
}

function backendsOf(list: string, frontend: string): string[] {
  const lines = list.split("\n");
  const start = lines.findIndex((l) => l.includes(frontend));
  if (start < 0) return [];
  const out = [lines[start]!.slice(lines[start]!.indexOf("=>") - 2)];
  for (let i = start + 1; i < lines.length && /^\s+\d+ =>/.test(lines[i]!); i++) out.push(lines[i]!.trim());
  return out.map((l) => l.trim());
}

describe("global services: affinity local and failover (seed 002)", () => {
  const files = { nginx: join(configDir, "nginx.yaml"), client: join(configDir, "client.yaml"), svc: join(configDir, "svc.yaml") };
  before(() => {
    freshStart();
    writeFileSync(files.client, client);
    writeFileSync(files.svc, service);
  });
  after(() => trellis(["lab", "down"], { allowFailure: true }));

  test("a connected mesh with nginx, a client and the global service in both clusters", async () => {
    trellis(["lab", "up", "--clusters", "2", "--nodes", "2"]);
    for (const ctx of ["cluster-1", "cluster-2"]) trellis(["clustermesh", "enable", "--context", ctx]);
    trellis(["clustermesh", "connect", "--context", "cluster-1", "--destination-context", "cluster-2"]);
    for (const ctx of ["cluster-1", "cluster-2"]) trellis(["clustermesh", "status", "--context", ctx, "--wait", "--wait-duration", "2m"]);
    writeFileSync(files.nginx, nginx(2));
    for (const ctx of ["cluster-1", "cluster-2"]) {
      for (const f of [files.nginx, files.client, files.svc]) trellis(["apply", "-f", f, "--context", ctx]);
    }
    await runningPods("cluster-1", 3);
    await runningPods("cluster-2", 3);
  });

  test("service list shows 4 backends, the 2 local ones preferred", async () => {
    const { clusterIP } = svc("cluster-1");
    const lines = await eventually("4 backends", () => {
      const b = backendsOf(serviceList("cluster-1"), `${clusterIP}:80`);
      return b.length === 4 ? b : undefined;
    });
    assert.equal(lines.filter((l) => l.endsWith("(active) (preferred)")).length, 2);
    assert.ok(lines.filter((l) => l.includes("100.65.")).every((l) => l.endsWith("(preferred)")), "cluster-1's own backends are the preferred ones");
  });

  test("requests from a cluster-1 pod are answered only by cluster-1", () => {
    const c = pods("cluster-1").find((p) => p.labels.app === "client")!;
    assert.deepEqual(clustersAnswering("cluster-1", c.name, `http://${svc("cluster-1").clusterIP}/`), ["cluster-1"]);
  });

  test("cluster-1 scaled to 0: 2 remote backends remain, and ClusterIP, LB IP and NodePort are served by cluster-2", async () => {
    writeFileSync(files.nginx, nginx(0));
    trellis(["apply", "-f", files.nginx, "--context", "cluster-1"]);
    const s = svc("cluster-1");
    await eventually("only the 2 remote backends", () => {
      const b = backendsOf(serviceList("cluster-1"), `${s.clusterIP}:80`);
      return b.length === 2 && b.every((l) => l.includes("100.66.") && l.endsWith("(active)"));
    });
    const c = pods("cluster-1").find((p) => p.labels.app === "client")!;
    assert.deepEqual(clustersAnswering("cluster-1", c.name, `http://${s.clusterIP}/`), ["cluster-2"]);
    assert.deepEqual(fromAdmin(`http://${s.externalIPs[0]}/`), ["cluster-2"], "LoadBalancer IP from the admin namespace");
    const nodePort = /80:(\d+)\//.exec(s.ports)![1];
    assert.deepEqual(fromAdmin(`http://198.18.1.11:${nodePort}/`), ["cluster-2"], "NodePort on a cluster-1 node");
  });

  test("migration back: cluster-1 up again and cluster-2 at 0, cluster-2's requests go to cluster-1", async () => {
    writeFileSync(files.nginx, nginx(2));
    trellis(["apply", "-f", files.nginx, "--context", "cluster-1"]);
    await runningPods("cluster-1", 3);
    writeFileSync(files.nginx, nginx(0));
    trellis(["apply", "-f", files.nginx, "--context", "cluster-2"]);
    const c2 = pods("cluster-2").find((p) => p.labels.app === "client")!;
    const url = `http://${svc("cluster-2").clusterIP}/`;
    await eventually("cluster-2's requests to reach cluster-1", () => JSON.stringify(clustersAnswering("cluster-2", c2.name, url, 6)) === '["cluster-1"]');
    assert.deepEqual(clustersAnswering("cluster-2", c2.name, url), ["cluster-1"]);
  });

  test("affinity remote and none, and a peer that does not share, select what they say", async () => {
    writeFileSync(files.nginx, nginx(2));
    trellis(["apply", "-f", files.nginx, "--context", "cluster-2"]);
    await runningPods("cluster-2", 3);
    const variant = (name: string, annotations: string) => `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  annotations:
${annotations}
spec:
  ports: [{port: 80}]
  selector: {app: nginx}
`;
    const files2 = {
      remote: variant("nginx-remote", `    service.cilium.io/global: "true"\n    service.cilium.io/affinity: "remote"`),
      none: variant("nginx-none", `    service.cilium.io/global: "true"\n    service.cilium.io/affinity: "none"`),
      privateHere: variant("nginx-private", `    service.cilium.io/global: "true"`),
      privateThere: variant("nginx-private", `    service.cilium.io/global: "true"\n    service.cilium.io/shared: "false"`),
    };
    const f = (k: keyof typeof files2) => {
      const path = join(configDir, `${k}.yaml`);
      writeFileSync(path, files2[k]);
      return path;
    };
    for (const ctx of ["cluster-1", "cluster-2"]) {
      trellis(["apply", "-f", f("remote"), "--context", ctx]);
      trellis(["apply", "-f", f("none"), "--context", ctx]);
    }
    trellis(["apply", "-f", f("privateHere"), "--context", "cluster-1"]);
    trellis(["apply", "-f", f("privateThere"), "--context", "cluster-2"]);
    const c = pods("cluster-1").find((p) => p.labels.app === "client")!;
    const ip = (name: string) => (JSON.parse(trellis(["get", "svc", name, "--context", "cluster-1", "-o", "json"]).stdout) as Svc).clusterIP;
    await eventually("the remote-affinity service to reach cluster-2", () => {
      const list = serviceList("cluster-1");
      return backendsOf(list, `${ip("nginx-remote")}:80`).length === 4 && backendsOf(list, `${ip("nginx-none")}:80`).length === 4;
    });
    assert.deepEqual(clustersAnswering("cluster-1", c.name, `http://${ip("nginx-remote")}/`), ["cluster-2"], "remote: only remote backends while any is active");
    assert.deepEqual(clustersAnswering("cluster-1", c.name, `http://${ip("nginx-none")}/`, 24), ["cluster-1", "cluster-2"], "none: all backends");
    const priv = backendsOf(serviceList("cluster-1"), `${ip("nginx-private")}:80`);
    assert.equal(priv.length, 2, "cluster-2 does not share nginx-private: only local backends");
    assert.ok(priv.every((l) => l.includes("100.65.")));
    assert.deepEqual(clustersAnswering("cluster-1", c.name, `http://${ip("nginx-private")}/`), ["cluster-1"]);
  });

  test("a long TCP connection to a backend survives the scaling of the other backends", async () => {
    const c = pods("cluster-1").find((p) => p.labels.app === "client")!;
    const vip = (JSON.parse(trellis(["get", "svc", "nginx-none", "--context", "cluster-1", "-o", "json"]).stdout) as Svc).clusterIP;
    const stream = trellisBackground(["exec", c.name, "--context", "cluster-1", "--", "curl", "-sS", "-N", "-m", "40", `http://${vip}/stream?seconds=8`]);
    const first = await eventually("the stream to start", () => /(\S+) chunk 3\//.exec(stream.output())?.[1], 20_000, 50);
    // Scale away the cluster that does not serve this stream; its backends leave the service.
    const servedByCluster1 = pods("cluster-1").some((p) => p.name === first);
    const other = servedByCluster1 ? "cluster-2" : "cluster-1";
    writeFileSync(files.nginx, nginx(0));
    trellis(["apply", "-f", files.nginx, "--context", other]);
    const r = await stream.done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`${first} chunk 80/80\\n${first} done`));
  });

  test("lab down leaves nothing behind", () => {
    trellis(["lab", "down"]);
    assert.deepEqual(labLeftovers(), []);
  });
});
