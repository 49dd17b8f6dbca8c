import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Narrator } from "./narrator.js";

/**
 * `trellis demo`: the seeds' story on a lab, with real commands and their real output. It grows
 * with the product; today it shows what works end to end: a lab of two clusters made of network
 * namespaces, seed 003's mesh set-up, seed 002's nginx deployment in both clusters, pods reaching
 * pods across clusters, and the health of every node.
 */
const NGINX = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx-deployment
spec:
  selector:
    matchLabels:
      app: nginx
  replicas: 4
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
      await n.waitFor(`4 running pods in ${ctx}`, () => {
        const p = pods(ctx);
        return p.length === 4 && p.every((x) => x.status === "Running");
      });
    }
    n.run(["get", "pods", "-o", "wide", "--context", "cluster-2"]);

    n.step("A pod in cluster-1 reaches pods in cluster-2 by IP (VXLAN on UDP 8472)");
    const src = pods("cluster-1")[0]!;
    for (const dst of pods("cluster-2").slice(0, 2)) {
      n.run(["exec", src.name, "--context", "cluster-1", "--", "curl", "-s", "-m", "5", `http://${dst.ip}/`]);
    }
    n.run(["exec", src.name, "--context", "cluster-1", "--", "ping", "-c", "2", "-W", "2", pods("cluster-2")[0]!.ip!]);

    n.step("Health of every node of both clusters (cilium-health status)");
    n.run(["health", "status", "--context", "cluster-1"]);

    n.say("\nStill to come in Trellis (see README status): global services with affinity and failover, connectivity test, policy enforcement.");
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (!options.keep) {
      n.step("Remove the lab (pass --keep to keep it)");
      n.run(["lab", "down"], { allowFailure: true });
    }
  }
}
