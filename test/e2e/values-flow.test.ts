import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { configDir, eventually, freshStart, labLeftovers, runningPods, trellis, trellisJson } from "./helpers.js";

/**
 * Seed 002, steps 2-6: the mesh configured through Helm values, with the CA and the remote
 * certificates copied by hand from `get secret ... -o yaml` and the address from `get svc`, as the
 * seed shows. The result is the same connected mesh that enable/connect build.
 */
const secretData = (ctx: string, name: string) =>
  trellisJson<{ data: Record<string, string> }>(["get", "secret", name, "-n", "kube-system", "--context", ctx]).data;

function externalIp(ctx: string): string {
  const out = trellis(["get", "svc", "clustermesh-apiserver", "-n", "kube-system", "--context", ctx]).stdout;
  const ip = /LoadBalancer\s+\S+\s+(198\.19\.\d+\.\d+)/.exec(out)?.[1];
  assert.ok(ip, `no external IP in:\n${out}`);
  return ip;
}

const peerValues = (name: string, ip: string, cert: string, key: string) => `    - name: ${name}
      address: ""
      port: 2379
      ips:
      - ${ip}
      tls:
        cert: "${cert}"
        key: "${key}"
`;

describe("seed 002: the mesh through Helm values", () => {
  before(() => freshStart());
  after(() => trellis(["lab", "down"], { allowFailure: true }));

  test("steps 2-6 give a connected mesh", async () => {
    trellis(["lab", "up", "--clusters", "2", "--nodes", "2"]);
    const v1 = join(configDir, "values-1.yaml");
    writeFileSync(
      v1,
      `cluster:
  name: cluster-1
  id: 1
clustermesh:
  useAPIServer: true
  config:
    enabled: true
  apiserver:
    tls:
      auto:
        method: cronJob
    service:
      type: LoadBalancer
`,
    );
    trellis(["install", "-f", v1, "--context", "cluster-1"]);

    // Step 3: retrieve cluster-1's CA, external IP and remote certificate.
    const ca = secretData("cluster-1", "cilium-ca");
    const ip1 = externalIp("cluster-1");
    const remote1 = secretData("cluster-1", "clustermesh-apiserver-remote-cert");

    // Step 4: cluster-2 with cluster-1 as its peer and cluster-1's CA.
    const v2 = join(configDir, "values-2.yaml");
    writeFileSync(
      v2,
      `cluster:
  name: cluster-2
  id: 2
clustermesh:
  useAPIServer: true
  config:
    enabled: true
    clusters:
${peerValues("cluster-1", ip1, remote1["tls.crt"]!, remote1["tls.key"]!)}  apiserver:
    tls:
      auto:
        method: cronJob
      ca:
        cert: "${ca["ca.crt"]}"
        key: "${ca["ca.key"]}"
    service:
      type: LoadBalancer
`,
    );
    trellis(["install", "-f", v2, "--context", "cluster-2"]);

    // Step 5: retrieve cluster-2's external IP and remote certificate.
    const ip2 = externalIp("cluster-2");
    const remote2 = secretData("cluster-2", "clustermesh-apiserver-remote-cert");

    // Step 6: cluster-1 learns of cluster-2 (CA: cluster-1's own, as the seed insists).
    const v3 = join(configDir, "values-1b.yaml");
    writeFileSync(
      v3,
      `clustermesh:
  useAPIServer: true
  config:
    enabled: true
    clusters:
${peerValues("cluster-2", ip2, remote2["tls.crt"]!, remote2["tls.key"]!)}  apiserver:
    tls:
      auto:
        method: cronJob
      ca:
        cert: "${ca["ca.crt"]}"
        key: "${ca["ca.key"]}"
    service:
      type: LoadBalancer
`,
    );
    trellis(["upgrade", "-f", v3, "--context", "cluster-1"]);

    for (const [ctx, peer] of [["cluster-1", "cluster-2"], ["cluster-2", "cluster-1"]]) {
      const st = trellis(["clustermesh", "status", "--context", ctx!, "--wait", "--wait-duration", "2m"]).stdout;
      assert.match(st, /All 2 nodes are connected to all clusters/);
      assert.match(st, new RegExp(`- ${peer}: 2/2 configured, 2/2 connected`));
    }

    // Same mesh as connect builds: pods reach pods across the clusters.
    const echo = join(configDir, "echo.yaml");
    writeFileSync(echo, `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: echo}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: echo}}\n  template:\n    metadata: {labels: {app: echo}}\n    spec: {containers: [{name: echo, image: nginx, ports: [{containerPort: 80}]}]}\n`);
    for (const ctx of ["cluster-1", "cluster-2"]) trellis(["apply", "-f", echo, "--context", ctx]);
    const [a] = await runningPods("cluster-1", 1);
    const [b] = await runningPods("cluster-2", 1);
    await eventually("a cluster-1 pod to reach a cluster-2 pod", () => trellis(["exec", a!.name, "--context", "cluster-1", "--", "curl", "-s", "-m", "2", `http://${b!.ip}/`], { allowFailure: true }).stdout.includes(b!.name), 60_000);
  });

  test("lab down leaves nothing behind", () => {
    trellis(["lab", "down"]);
    assert.deepEqual(labLeftovers(), []);
  });
});
