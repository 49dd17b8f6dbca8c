import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { configDir, eventually, freshStart, labLeftovers, runningPods, trellis, trellisJson, type PodRow } from "./helpers.js";

/**
 * Issue #4's certificate renewal on a lab of 2 clusters × 1 node, through the CLI: install with
 * seed 002's `clustermesh.apiserver.tls.auto.method=cronJob` and a validity of 0.0005 days (43 s,
 * a fraction of a day meant for tests), share the CA, enable (cluster-1 with KVStoreMesh, cluster-2
 * with agents connecting directly), connect. Then the operators renew the `remote` certificates
 * and etcd's server certificates on their own, every ~30 s, and the mesh stays connected with no
 * daemon restarted, also once the first certificates have long expired.
 */
const VALIDITY_DAYS = "0.0005";
const VALIDITY_MS = 0.0005 * 86_400_000;

const echo = `apiVersion: apps/v1
kind: Deployment
metadata: {name: echo}
spec:
  replicas: 1
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec: {containers: [{name: echo, image: nginx:1.16.1, ports: [{containerPort: 80}]}]}
`;

function remoteCert(ctx: string): X509Certificate {
  const secret = trellisJson<{ data: Record<string, string> }>(["get", "secret", "clustermesh-apiserver-remote-cert", "-n", "kube-system", "--context", ctx]);
  return new X509Certificate(Buffer.from(secret.data["tls.crt"]!, "base64"));
}

function serverCert(cluster: string): X509Certificate {
  return new X509Certificate(readFileSync(`/var/lib/trellis/lab/${cluster}/pki/etcd-server.crt`));
}

function reaches(fromCtx: string, from: PodRow, to: PodRow): boolean {
  const r = trellis(["exec", from.name, "--context", fromCtx, "--", "curl", "-s", "-m", "3", `http://${to.ip}/`], { allowFailure: true });
  return r.code === 0 && r.stdout.includes(to.name);
}

function meshReady(ctx: string): string {
  return trellis(["clustermesh", "status", "--context", ctx, "--wait", "--wait-duration", "2m"]).stdout;
}

describe("certificate renewal (tls.auto) picked up without restarts", () => {
  const manifest = join(configDir, "echo.yaml");
  let p1: PodRow;
  let p2: PodRow;
  const first: Record<string, X509Certificate> = {};

  before(() => {
    freshStart();
    writeFileSync(manifest, echo);
  });
  after(() => trellis(["lab", "down"], { allowFailure: true }));

  test("install with tls.auto.method=cronJob and a short validity, share the CA, enable, connect", () => {
    trellis(["lab", "up", "--clusters", "2", "--nodes", "1"]);
    for (const [ctx, id] of [["cluster-1", "1"], ["cluster-2", "2"]] as const) {
      const out = trellis([
        "install", "--context", ctx,
        "--set", `cluster.name=${ctx}`, "--set", `cluster.id=${id}`,
        "--set", "clustermesh.apiserver.tls.auto.method=cronJob",
        "--set", `clustermesh.apiserver.tls.auto.certValidityDuration=${VALIDITY_DAYS}`,
      ]).stdout;
      assert.doesNotMatch(out, /values Trellis does not use/);
    }
    const ca = join(configDir, "ca.yaml");
    writeFileSync(ca, trellis(["ca", "export", "--context", "cluster-1"]).stdout);
    trellis(["ca", "import", "--context", "cluster-2", "-f", ca]);
    const enabled = trellis(["clustermesh", "enable", "--context", "cluster-1"]).stdout;
    assert.match(enabled, /Certificates are renewed before they expire \(tls\.auto\.method=cronJob, validity 0\.0005 days\)/);
    trellis(["clustermesh", "enable", "--context", "cluster-2", "--enable-kvstoremesh", "false"]);
    for (const ctx of ["cluster-1", "cluster-2"]) meshReady(ctx);

    assert.match(trellis(["clustermesh", "connect", "--context", "cluster-1", "--destination-context", "cluster-2"]).stdout, /Connected cluster cluster-1 and cluster-2/);
    for (const ctx of ["cluster-1", "cluster-2"]) assert.match(meshReady(ctx), /All 1 nodes are connected to all clusters/);
  });

  test("with a shared CA each cluster reaches the other with its own remote certificate: nothing is copied", () => {
    for (const [ctx, peer] of [["cluster-1", "cluster-2"], ["cluster-2", "cluster-1"]] as const) {
      const secret = trellisJson<{ data: Record<string, string> }>(["get", "secret", "cilium-clustermesh", "-n", "kube-system", "--context", ctx]);
      assert.deepEqual(Object.keys(secret.data), [peer]);
      assert.match(Buffer.from(secret.data[peer]!, "base64").toString(), /cert-file: \/var\/lib\/cilium\/clustermesh\/common-etcd-client\.crt/);
    }
  });

  test("pods reach across the clusters", async () => {
    for (const ctx of ["cluster-1", "cluster-2"]) trellis(["apply", "-f", manifest, "--context", ctx]);
    p1 = (await runningPods("cluster-1", 1))[0]!;
    p2 = (await runningPods("cluster-2", 1))[0]!;
    await eventually("cluster-1 to reach cluster-2", () => reaches("cluster-1", p1, p2), 60_000);
    await eventually("cluster-2 to reach cluster-1", () => reaches("cluster-2", p2, p1), 60_000);
    for (const ctx of ["cluster-1", "cluster-2"]) first[ctx] = remoteCert(ctx);
  });

  test("the operators renew the remote certificates (a new serial) and etcd's server certificates", async () => {
    for (const ctx of ["cluster-1", "cluster-2"]) {
      const renewed = await eventually(`a renewed remote certificate in ${ctx}`, () => {
        const c = remoteCert(ctx);
        return c.serialNumber !== first[ctx]!.serialNumber ? c : undefined;
      }, 3 * VALIDITY_MS, 1000);
      assert.ok(Date.parse(renewed.validTo) > Date.parse(first[ctx]!.validTo));
      // etcd's server certificate lives no longer than the configured validity (plus the head start).
      const server = serverCert(ctx);
      assert.ok(Date.parse(server.validTo) - Date.parse(server.validFrom) <= VALIDITY_MS * 1.1 + 2000, `${ctx}: etcd's server certificate runs ${server.validFrom} – ${server.validTo}`);
    }
    const st = trellisJson<{ certificates: { name: string; renewedHere: boolean; attention?: string }[] }>(["clustermesh", "status", "--context", "cluster-1"]);
    assert.deepEqual(st.certificates.map((c) => [c.name, c.renewedHere, c.attention]), [["remote", true, undefined]]);
  });

  test("the mesh stays connected with the renewed certificates, also once the first ones have long expired", async () => {
    const expired = Math.max(...Object.values(first).map((c) => Date.parse(c.validTo)));
    await eventually("the first certificates to expire", () => Date.now() > expired + 5000, 2 * VALIDITY_MS, 1000);
    for (const ctx of ["cluster-1", "cluster-2"]) assert.match(meshReady(ctx), /All 1 nodes are connected to all clusters/);
    await eventually("cluster-1 to reach cluster-2", () => reaches("cluster-1", p1, p2), 60_000);
    await eventually("cluster-2 to reach cluster-1", () => reaches("cluster-2", p2, p1), 60_000);
    // New state still flows: a pod started now is reached from the other cluster.
    trellis(["scale", "deployment", "echo", "--replicas", "2", "--context", "cluster-2"]);
    const fresh = (await runningPods("cluster-2", 2)).find((p) => p.name !== p2.name)!;
    await eventually("cluster-1 to reach the new cluster-2 pod", () => reaches("cluster-1", p1, fresh), 60_000);
    const status = trellis(["status", "--context", "cluster-1"]).stdout;
    assert.match(status, /ClusterMesh:\s+1\/1 remote clusters ready/);
  });

  test("lab down leaves nothing behind", () => {
    trellis(["lab", "down"]);
    assert.deepEqual(labLeftovers(), []);
  });
});
