/**
 * Global-service failover: the time from scaling cluster-1's backends to 0 to the first request
 * from a cluster-1 pod that cluster-2 answers, over repeated runs. A client pod curls the service's
 * ClusterIP in a tight loop, stamping each answer with the (shared) clock; the scale command's
 * time is taken just before it is issued.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { fmt, percentile, type BenchOptions, type BenchSection } from "./section.js";

const BIN = resolve(fileURLToPath(new URL(".", import.meta.url)), "..", "..", "bin", "trellis.js");

const deployment = (name: string, app: string, replicas: number) =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ${name}}\nspec:\n  replicas: ${replicas}\n  selector: {matchLabels: {app: ${app}}}\n  template:\n    metadata: {labels: {app: ${app}}}\n    spec: {containers: [{name: c, image: nginx, ports: [{containerPort: 80}]}]}\n`;
const service = `apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  annotations: {service.cilium.io/global: "true", service.cilium.io/affinity: "local"}\nspec:\n  ports: [{port: 80}]\n  selector: {app: web}\n`;

export async function run(options: BenchOptions): Promise<BenchSection> {
  const dir = mkdtempSync(join(tmpdir(), "trellis-bench-failover-"));
  const env = { ...process.env, TRELLIS_CONFIG: join(dir, "config"), NODE_NO_WARNINGS: "1" };
  const cli = (args: string[], allowFailure = false) => {
    const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: "utf8", timeout: 300_000 });
    if (r.status !== 0 && !allowFailure) throw new Error(`trellis ${args.join(" ")}: ${r.stderr}`);
    return r.stdout ?? "";
  };
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const wait = async (what: string, cond: () => boolean, ms = 120_000) => {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const running = (ctx: string, app: string, n: number) => {
    const p = JSON.parse(cli(["get", "pods", "--context", ctx, "-o", "json"])) as { status: string; labels: Record<string, string>; name: string }[];
    return p.filter((x) => x.labels.app === app && x.status === "Running").length === n;
  };
  const rounds = options.scale === 1 ? 8 : 3;
  const times: number[] = [];
  try {
    cli(["lab", "down"], true);
    cli(["lab", "up", "--clusters", "2", "--nodes", "1"]);
    for (const ctx of ["cluster-1", "cluster-2"]) cli(["clustermesh", "enable", "--context", ctx, "--service-type", "ClusterIP"]);
    cli(["clustermesh", "connect", "--context", "cluster-1", "--destination-context", "cluster-2"]);
    cli(["clustermesh", "status", "--context", "cluster-1", "--wait"]);
    for (const ctx of ["cluster-1", "cluster-2"]) {
      cli(["apply", "-f", file("web.yaml", deployment("web", "web", 1)), "--context", ctx]);
      cli(["apply", "-f", file("svc.yaml", service), "--context", ctx]);
    }
    cli(["apply", "-f", file("client.yaml", deployment("client", "client", 1)), "--context", "cluster-1"]);
    await wait("pods", () => running("cluster-1", "web", 1) && running("cluster-1", "client", 1) && running("cluster-2", "web", 1));
    const pods = JSON.parse(cli(["get", "pods", "--context", "cluster-1", "-o", "json"])) as { name: string; labels: Record<string, string> }[];
    const client = pods.find((p) => p.labels.app === "client")!.name;
    const vip = (JSON.parse(cli(["get", "svc", "web", "--context", "cluster-1", "-o", "json"])) as { clusterIP: string }).clusterIP;
    // Every answer, stamped with the clock (the pod shares the machine's clock).
    const loop = spawn(process.execPath, [BIN, "exec", client, "--context", "cluster-1", "--", "sh", "-c", `while true; do r=$(curl -s -m 1 http://${vip}/); echo "$(date +%s%N) $r"; done`], { env });
    let out = "";
    loop.stdout.on("data", (b: Buffer) => (out += b.toString()));
    try {
      const answersSince = (t: number) =>
        out
          .split("\n")
          .map((l) => /^(\d+) .*"cluster":"([^"]+)"/.exec(l))
          .filter((m): m is RegExpExecArray => Boolean(m) && Number(m![1]) / 1e6 >= t)
          .map((m) => ({ at: Number(m[1]) / 1e6, cluster: m[2]! }));
      await wait("local answers", () => answersSince(Date.now() - 2000).some((a) => a.cluster === "cluster-1"));
      for (let r = 0; r < rounds; r++) {
        const t0 = Date.now();
        cli(["apply", "-f", file("web.yaml", deployment("web", "web", 0)), "--context", "cluster-1"]);
        await wait("a remote answer", () => answersSince(t0).some((a) => a.cluster === "cluster-2"), 60_000);
        times.push(answersSince(t0).find((a) => a.cluster === "cluster-2")!.at - t0);
        cli(["apply", "-f", file("web.yaml", deployment("web", "web", 1)), "--context", "cluster-1"]);
        const t1 = Date.now();
        await wait("local answers again", () => answersSince(t1).slice(-3).every((a) => a.cluster === "cluster-1") && answersSince(t1).length >= 3, 120_000);
      }
    } finally {
      loop.kill();
    }
  } finally {
    cli(["lab", "down"], true);
    rmSync(dir, { recursive: true, force: true });
  }
  const sorted = [...times].sort((a, b) => a - b);
  return {
    title: "Global service failover: scale to 0 until the first remote answer",
    markdown: [
      "A lab of 2 clusters × 1 node, connected (ClusterIP exposure, KVStoreMesh on), a global service with affinity local and one backend in each cluster, and a client pod in cluster-1 curling the service's ClusterIP in a loop. Each round scales cluster-1's deployment to 0 (`trellis apply`) and measures until the first answer from cluster-2; then scales back up and waits for local answers.",
      "",
      `| runs | p50 (ms) | p99 (ms) | min (ms) | max (ms) |`,
      "| ---: | ---: | ---: | ---: | ---: |",
      `| ${sorted.length} | ${fmt(percentile(sorted, 50), 0)} | ${fmt(percentile(sorted, 99), 0)} | ${fmt(sorted[0]!, 0)} | ${fmt(sorted[sorted.length - 1]!, 0)} |`,
      "",
      "The path: the operator removes the pod and recomputes the service's endpoints; every agent's service table turns the remote backends active (affinity local fails over when no local backend is left) and the datapath swaps the service's backend map in one nftables transaction. The client's loop resolution is a few milliseconds (one curl process per request).",
    ].join("\n"),
  };
}
