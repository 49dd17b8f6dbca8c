import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Narrator } from "./narrator.js";

/**
 * `trellis demo`: the seeds' story on a lab, with real commands and their real output. It grows
 * with the product; today it shows what works end to end: a lab cluster of three nodes made of
 * network namespaces, seed 002's nginx deployment, and pods reaching pods across nodes.
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
  const pods = (): Pod[] => JSON.parse(n.query(["get", "pods", "--context", "cluster-1", "-o", "json"]) || "[]") as Pod[];
  try {
    n.step("Clear what an earlier demo may have left, then build a lab cluster of 3 nodes");
    n.run(["lab", "down"], { quietStderr: true });
    n.say("Each node is a network namespace running a real `trellis agent`; the control plane runs etcd (TLS) and `trellis operator`.");
    n.run(["lab", "up", "--clusters", "1", "--nodes", "3"]);
    n.run(["lab", "status"]);
    n.run(["get", "nodes", "-o", "wide", "--context", "cluster-1"]);

    n.step("Deploy seed 002's nginx deployment (4 replicas)");
    const file = n.manifest(dir, "nginx-deployment.yaml", NGINX);
    n.run(["apply", "-f", file, "--context", "cluster-1"]);
    await n.waitFor("4 running pods", () => {
      const p = pods();
      return p.length === 4 && p.every((x) => x.status === "Running");
    });
    n.run(["get", "pods", "-o", "wide", "--context", "cluster-1"]);
    n.run(["endpoint", "list", "--context", "cluster-1"]);

    n.step("Pods reach pods on other nodes (VXLAN on UDP 8472)");
    const all = pods();
    const src = all[0]!;
    for (const dst of all.filter((p) => p.node !== src.node).slice(0, 2)) {
      n.run(["exec", src.name, "--context", "cluster-1", "--", "curl", "-s", "-m", "5", `http://${dst.ip}/`]);
      n.run(["exec", src.name, "--context", "cluster-1", "--", "ping", "-c", "2", "-W", "2", dst.ip!]);
    }

    n.step("Scale the deployment down");
    n.run(["scale", "deployment", "nginx-deployment", "--replicas", "2", "--context", "cluster-1"]);
    await n.waitFor("2 pods", () => pods().length === 2);
    n.run(["get", "deployments", "--context", "cluster-1"]);

    n.say("\nStill to come in Trellis (see README status): cluster mesh across clusters, global services with affinity, health, policy.");
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (!options.keep) {
      n.step("Remove the lab (pass --keep to keep it)");
      n.run(["lab", "down"], { allowFailure: true });
    }
  }
}
