import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { configDir, eventually, freshStart, labLeftovers, pods, runningPods, trellis, trellisJson, type PodRow } from "./helpers.js";

/**
 * Seed 003's sequence on a lab of 2 clusters × 2 nodes, through the CLI: install with names and
 * IDs, share the CA, enable both, status --wait, connect in one direction, status --wait shows both
 * directions ready, pods reach pods across clusters by ICMP and HTTP, disconnect stops the traffic,
 * connect brings it back. Run once with KVStoreMesh and once with agents connecting directly.
 */
const echo = `apiVersion: apps/v1
kind: Deployment
metadata: {name: echo}
spec:
  replicas: 2
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec: {containers: [{name: echo, image: nginx:1.16.1, ports: [{containerPort: 80}]}]}
`;

/** Whether `from` (a pod of one cluster) reaches every pod of `to` by ICMP and HTTP. */
function crossClusterFailures(fromCtx: string, from: PodRow, to: readonly PodRow[]): string[] {
  const script = to
    .map((dst) => `ping -c1 -W2 ${dst.ip} >/dev/null 2>&1 || echo "FAIL icmp ${dst.name}"; curl -s -m 3 http://${dst.ip}/ | grep -q '"pod":"${dst.name}"' || echo "FAIL http ${dst.name}"`)
    .join("; ");
  const r = trellis(["exec", from.name, "--context", fromCtx, "--", "sh", "-c", script]);
  return r.stdout.split("\n").filter((l) => l.startsWith("FAIL"));
}

function reaches(fromCtx: string, from: PodRow, to: PodRow): boolean {
  return trellis(["exec", from.name, "--context", fromCtx, "--", "curl", "-s", "-m", "2", `http://${to.ip}/`], { allowFailure: true }).code === 0;
}

for (const variant of [
  { name: "KVStoreMesh, LoadBalancer", type: "LoadBalancer", args: [] as string[] },
  { name: "agents connect directly (--enable-kvstoremesh=false)", type: "LoadBalancer", args: ["--enable-kvstoremesh", "false"] },
  { name: "--service-type NodePort", type: "NodePort", args: ["--service-type", "NodePort"] },
]) {
  describe(`cluster mesh, seed 003's sequence (${variant.name})`, () => {
    const manifest = join(configDir, "echo.yaml");
    before(() => {
      freshStart();
      writeFileSync(manifest, echo);
    });
    after(() => trellis(["lab", "down"], { allowFailure: true }));

    test("1-4: install names and IDs, share the CA, enable, status --wait", () => {
      trellis(["lab", "up", "--clusters", "2", "--nodes", "2"]);
      for (const [ctx, id] of [["cluster-1", "1"], ["cluster-2", "2"]] as const) {
        const out = trellis(["install", "--context", ctx, "--set", `cluster.name=${ctx}`, "--set", `cluster.id=${id}`]).stdout;
        assert.match(out, new RegExp(`cluster.name=${ctx} cluster.id=${id}`));
      }
      const ca = join(configDir, "ca.yaml");
      writeFileSync(ca, trellis(["ca", "export", "--context", "cluster-1"]).stdout);
      assert.match(trellis(["ca", "import", "--context", "cluster-2", "-f", ca]).stdout, /cluster-2 now uses CA "cluster-1 CA"/);
      for (const ctx of ["cluster-1", "cluster-2"]) {
        assert.match(trellis(["clustermesh", "enable", "--context", ctx, ...variant.args]).stdout, /Cluster access information is available/);
      }
      for (const ctx of ["cluster-1", "cluster-2"]) {
        const st = trellis(["clustermesh", "status", "--context", ctx, "--wait", "--wait-duration", "2m"]).stdout;
        assert.match(st, new RegExp(`Service "clustermesh-apiserver" of type "${variant.type}" found`));
        assert.match(st, variant.type === "LoadBalancer" ? /- 198\.19\.\d\.129:2379/ : /- 198\.18\.\d\.11:32379/);
      }
    });

    test("5-6: connect in one direction; status --wait shows both directions ready", () => {
      assert.match(trellis(["clustermesh", "connect", "--context", "cluster-1", "--destination-context", "cluster-2"]).stdout, /Connected cluster cluster-1 and cluster-2/);
      for (const [ctx, peer] of [["cluster-1", "cluster-2"], ["cluster-2", "cluster-1"]]) {
        const st = trellis(["clustermesh", "status", "--context", ctx!, "--wait", "--wait-duration", "2m"]).stdout;
        assert.match(st, /All 2 nodes are connected to all clusters/);
        assert.match(st, new RegExp(`- ${peer}: 2/2 configured, 2/2 connected`));
        const status = trellis(["status", "--context", ctx!]).stdout;
        assert.match(status, new RegExp(`ClusterMesh:\\s+1/1 remote clusters ready`));
        assert.match(status, new RegExp(`${peer}: ready, 2 nodes`));
      }
    });

    test("node list shows all 4 nodes in either cluster", () => {
      for (const ctx of ["cluster-1", "cluster-2"]) {
        const names = trellisJson<{ cluster: string; name: string }[]>(["node", "list", "--context", ctx]).map((n) => `${n.cluster}/${n.name}`);
        assert.deepEqual(names, ["cluster-1/node-1", "cluster-1/node-2", "cluster-2/node-1", "cluster-2/node-2"]);
      }
    });

    test("7: pods reach pods in the other cluster by ICMP and HTTP, both ways", async () => {
      for (const ctx of ["cluster-1", "cluster-2"]) trellis(["apply", "-f", manifest, "--context", ctx]);
      const p1 = await runningPods("cluster-1", 2);
      const p2 = await runningPods("cluster-2", 2);
      await eventually("cluster-1 pods to reach cluster-2 pods", () => reaches("cluster-1", p1[0]!, p2[1]!), 60_000);
      for (const src of p1) assert.deepEqual(crossClusterFailures("cluster-1", src, p2), []);
      for (const src of p2) assert.deepEqual(crossClusterFailures("cluster-2", src, p1), []);
    });

    test("8-9: disconnect stops cross-cluster traffic; connecting again restores it", async () => {
      const [a] = pods("cluster-1");
      const [b] = pods("cluster-2");
      trellis(["clustermesh", "disconnect", "--context", "cluster-1", "--destination-context", "cluster-2"]);
      await eventually("traffic to stop", () => !reaches("cluster-1", a!, b!), 60_000);
      assert.equal(reaches("cluster-2", b!, a!), false, "both directions are withdrawn");
      trellis(["clustermesh", "connect", "--context", "cluster-1", "--destination-context", "cluster-2"]);
      trellis(["clustermesh", "status", "--context", "cluster-1", "--wait", "--wait-duration", "2m"]);
      await eventually("traffic to flow again", () => reaches("cluster-1", a!, b!), 60_000);
      assert.ok(reaches("cluster-2", b!, a!));
    });

    test("the remote certificate reads state but writes nothing and reads nothing else", () => {
      const secret = trellisJson<{ data: Record<string, string> }>(["get", "secret", "clustermesh-apiserver-remote-cert", "--context", "cluster-2"]);
      for (const [k, f] of [["tls.crt", "remote.crt"], ["tls.key", "remote.key"], ["ca.crt", "remote-ca.crt"]]) writeFileSync(join(configDir, f!), Buffer.from(secret.data[k!]!, "base64"));
      const etcdctl = (...args: string[]) =>
        spawnSync("etcdctl", ["--endpoints", "https://198.18.2.2:2379", "--cacert", join(configDir, "remote-ca.crt"), "--cert", join(configDir, "remote.crt"), "--key", join(configDir, "remote.key"), "--dial-timeout", "3s", ...args], {
          encoding: "utf8",
          env: { ...process.env, ETCDCTL_API: "3" },
        });
      const read = etcdctl("get", "--prefix", "--keys-only", "cilium/state/nodes/v1/cluster-2/");
      assert.equal(read.status, 0, read.stderr);
      assert.match(read.stdout, /cilium\/state\/nodes\/v1\/cluster-2\/node-1/);
      for (const args of [["put", "cilium/state/nodes/v1/cluster-2/evil", "x"], ["del", "cilium/cluster-config/cluster-2"], ["get", "--prefix", "trellis/"], ["get", "--prefix", "cilium/cache/"]]) {
        const r = etcdctl(...args);
        assert.notEqual(r.status, 0, `etcdctl ${args.join(" ")} should be refused`);
        assert.match(r.stderr, /permission denied/, args.join(" "));
      }
    });

    test("lab down leaves nothing behind", () => {
      trellis(["lab", "down"]);
      assert.deepEqual(labLeftovers(), []);
    });
  });
}
