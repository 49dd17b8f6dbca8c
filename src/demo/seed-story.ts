import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Narrator } from "./narrator.js";

/**
 * `trellis demo`: the seeds' story on a lab, with real commands and their real output. It grows
 * with the product; today it shows what works end to end: a lab of two clusters made of network
 * namespaces, seed 003's mesh set-up, seed 002's nginx deployment in both clusters, pods reaching
 * pods across clusters, the health of every node, and seed 003's multi-cluster connectivity test.
 */
const NGINX = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx-deployment
spec:
  selector:
    matchLabels:
      app: nginx
  replicas: 2
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

const SERVICE = `apiVersion: v1
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

const CLIENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: client
spec:
  selector:
    matchLabels:
      app: client
  replicas: 1
  template:
    metadata:
      labels:
        app: client
    spec:
      containers:
      - name: client
        image: curlimages/curl
`;

interface Pod {
  name: string;
  node: string;
  status: string;
  ip?: string;
}

export async function runDemo(options: { keep: boolean }): Promise<void> {
  const n = new Narrator();
  const dir = mkdtempSync(join(tmpdir(), "trellis-demo-"));
  const pods = (ctx: string): Pod[] => JSON.parse(n.query(["get", "pods", "--context", ctx, "-o", "json"]) || "[]") as Pod[];
  try {
    n.step("Clear what an earlier demo may have left, then build a lab of 2 clusters × 2 nodes");
    n.run(["lab", "down"], { quietStderr: true });
    n.say("Each node is a network namespace running a real `trellis agent`; each control plane runs etcd (TLS) and `trellis operator`.");
    n.run(["lab", "up", "--clusters", "2", "--nodes", "2"]);
    n.run(["lab", "status"]);

    n.step("Give each cluster its name and ID (seed 003), and share one CA");
    n.run(["install", "--context", "cluster-1", "--set", "cluster.name=cluster-1", "--set", "cluster.id=1"]);
    n.run(["install", "--context", "cluster-2", "--set", "cluster.name=cluster-2", "--set", "cluster.id=2"]);
    const ca = join(dir, "ca.yaml");
    writeFileSync(ca, n.query(["ca", "export", "--context", "cluster-1"]));
    n.say(`$ trellis ca export --context cluster-1 > ca.yaml`);
    n.run(["ca", "import", "--context", "cluster-2", "-f", ca]);

    n.step("Enable the mesh endpoint in both clusters and wait for it");
    n.run(["clustermesh", "enable", "--context", "cluster-1"]);
    n.run(["clustermesh", "enable", "--context", "cluster-2"]);
    n.run(["clustermesh", "status", "--context", "cluster-1", "--wait"]);
    n.run(["get", "svc", "clustermesh-apiserver", "-n", "kube-system", "--context", "cluster-1"]);

    n.step("Connect the clusters (one command, both directions)");
    n.run(["clustermesh", "connect", "--context", "cluster-1", "--destination-context", "cluster-2"]);
    n.run(["clustermesh", "status", "--context", "cluster-1", "--wait"]);
    n.run(["status", "--context", "cluster-2"]);
    n.run(["node", "list", "--context", "cluster-1"]);

    n.step("Deploy seed 002's nginx deployment in both clusters");
    const file = n.manifest(dir, "nginx-deployment.yaml", NGINX);
    for (const ctx of ["cluster-1", "cluster-2"]) n.run(["apply", "-f", file, "--context", ctx]);
    for (const ctx of ["cluster-1", "cluster-2"]) {
      await n.waitFor(`2 running pods in ${ctx}`, () => {
        const p = pods(ctx);
        return p.length === 2 && p.every((x) => x.status === "Running");
      });
    }
    n.run(["get", "pods", "-o", "wide", "--context", "cluster-2"]);

    n.step("A pod in cluster-1 reaches pods in cluster-2 by IP (VXLAN on UDP 8472)");
    const src = pods("cluster-1")[0]!;
    for (const dst of pods("cluster-2").slice(0, 2)) {
      n.run(["exec", src.name, "--context", "cluster-1", "--", "curl", "-s", "-m", "5", `http://${dst.ip}/`]);
    }
    n.run(["exec", src.name, "--context", "cluster-1", "--", "ping", "-c", "2", "-W", "2", pods("cluster-2")[0]!.ip!]);

    n.step("A global LoadBalancer service with affinity local in both clusters (seed 002)");
    const svc = n.manifest(dir, "nginx-service.yaml", SERVICE);
    for (const ctx of ["cluster-1", "cluster-2"]) n.run(["apply", "-f", svc, "--context", ctx]);
    const client = n.manifest(dir, "client.yaml", CLIENT);
    n.run(["apply", "-f", client, "--context", "cluster-1"]);
    await n.waitFor("the client pod and 4 backends in cluster-1's service table", () => {
      const list = n.query(["service", "list", "--context", "cluster-1"]);
      return pods("cluster-1").some((p) => p.name.startsWith("client-") && p.status === "Running") && (list.match(/=> 100\.6[56]\.\d+\.\d+:80/g) ?? []).length >= 12;
    });
    n.run(["get", "svc", "nginx-deployment", "--context", "cluster-1"]);
    n.run(["service", "list", "--context", "cluster-1", "--clustermesh-affinity"]);
    const clientPod = pods("cluster-1").find((p) => p.name.startsWith("client-"))!;
    const clusterIP = (JSON.parse(n.query(["get", "svc", "nginx-deployment", "--context", "cluster-1", "-o", "json"])) as { clusterIP: string }).clusterIP;
    n.say("Requests from cluster-1 stay in cluster-1:");
    n.run(["exec", clientPod.name, "--context", "cluster-1", "--", "sh", "-c", `for i in 1 2 3 4; do curl -s -m 2 http://${clusterIP}/; done`]);

    n.step("Scale cluster-1's nginx to 0: cluster-2 takes over");
    n.run(["scale", "deployment", "nginx-deployment", "--replicas", "0", "--context", "cluster-1"]);
    await n.waitFor("only remote backends", () => !/=> 100\.65\.\d+\.\d+:80/.test(n.query(["service", "list", "--context", "cluster-1"])));
    n.run(["service", "list", "--context", "cluster-1", "--clustermesh-affinity"]);
    n.run(["exec", clientPod.name, "--context", "cluster-1", "--", "sh", "-c", `for i in 1 2 3 4; do curl -s -m 2 http://${clusterIP}/; done`]);

    n.step("Migrate back: cluster-1 up again");
    n.run(["scale", "deployment", "nginx-deployment", "--replicas", "2", "--context", "cluster-1"]);
    await n.waitFor("local backends again", () => /=> 100\.65\.\d+\.\d+:80/.test(n.query(["service", "list", "--context", "cluster-1"])));
    n.run(["service", "list", "--context", "cluster-1", "--clustermesh-affinity"]);

    n.step("Health of every node of both clusters (cilium-health status)");
    n.run(["health", "status", "--context", "cluster-1"]);

    n.step("Validate the mesh: the connectivity test in multi-cluster mode (seed 003)");
    n.say("It deploys its own client and echo pods into namespace trellis-test of both clusters, probes pods, services and nodes, applies allow and deny policies across the clusters around its policy tests, and removes it all again.");
    n.run(["connectivity", "test", "--context", "cluster-1", "--multi-cluster", "cluster-2"]);

    n.say("\nMore to try: docs/policy.md (network policy across clusters), docs/observability.md (metrics), docs/troubleshooting.md (sysdump).");
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (!options.keep) {
      n.step("Remove the lab (pass --keep to keep it)");
      n.run(["lab", "down"], { allowFailure: true });
    }
  }
}
