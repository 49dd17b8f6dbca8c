import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { IDENTITY_HOST, IDENTITY_REMOTE_NODE, IDENTITY_WORLD } from "../cluster/index.js";
import { parsePolicyManifests } from "./cnp.js";
import { decideFlow } from "./decide.js";
import type { FlowProtocol } from "./policy-key.js";
import { PolicyResolver, reservedIdentityLabels } from "./resolve.js";
import { identityCache, workload, type Workload } from "./testing/mesh-fixture.js";
import { formatTrace, traceFlow, type DirectionTrace, type PolicyContext } from "./trace.js";

const c1Client = workload("cluster-1", 1, 1, { app: "client" });
const c1Other = workload("cluster-1", 1, 2, { app: "other" });
const c2Client = workload("cluster-2", 2, 1, { app: "client" });
const c2Echo = workload("cluster-2", 2, 2, { app: "echo" });
const mesh = identityCache(c1Client, c1Other, c2Client, c2Echo);

const cluster1: PolicyContext = {
  identities: mesh,
  options: { localCluster: "cluster-1" },
  policies: parsePolicyManifests(`
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: clients-to-cluster-2-only}
spec:
  endpointSelector: {matchLabels: {app: client}}
  egress:
  - toEndpoints:
    - matchLabels: {io.cilium.k8s.policy.cluster: cluster-2}
`),
};

const cluster2: PolicyContext = {
  identities: mesh,
  options: { localCluster: "cluster-2" },
  policies: parsePolicyManifests(`
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: echo-from-cluster-1-clients}
spec:
  endpointSelector: {matchLabels: {app: echo}}
  ingressDeny:
  - fromEntities: [world]
  ingress:
  - fromEndpoints:
    - matchLabels: {app: client, io.cilium.k8s.policy.cluster: cluster-1}
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
`),
};

const C1_CLIENT = "k8s:app=client k8s:io.cilium.k8s.policy.cluster=cluster-1 k8s:io.kubernetes.pod.namespace=default";

test("the trace of a denied cross-cluster flow reads like cilium policy trace and says why", () => {
  const t = traceFlow({ src: { ...c1Client, context: cluster1 }, dst: { ...c2Echo, context: cluster2 }, protocol: "TCP", port: 8080 });
  assert.equal(t.verdict, "denied");
  assert.equal(
    formatTrace(t),
    `----------------------------------------------------------------

Tracing From: [k8s:app=client, k8s:io.cilium.k8s.policy.cluster=cluster-1, k8s:io.kubernetes.pod.namespace=default] => To: [k8s:app=echo, k8s:io.cilium.k8s.policy.cluster=cluster-2, k8s:io.kubernetes.pod.namespace=default] Ports: [8080/TCP]

Resolving egress policy for [${C1_CLIENT}]
* Rule default/clients-to-cluster-2-only spec {"matchLabels":{"any:app":"client","k8s:io.kubernetes.pod.namespace":"default"}}: selected
    egress[0] allows to:
      {"matchLabels":{"any:io.cilium.k8s.policy.cluster":"cluster-2","k8s:io.kubernetes.pod.namespace":"default"}}: matches
      ports [0/ANY]: cover 8080/TCP
      => applies
1/1 rules selected
Found allow rule default/clients-to-cluster-2-only spec.egress[0]
Egress verdict: allowed

Resolving ingress policy for [k8s:app=echo k8s:io.cilium.k8s.policy.cluster=cluster-2 k8s:io.kubernetes.pod.namespace=default]
* Rule default/echo-from-cluster-1-clients spec {"matchLabels":{"any:app":"echo","k8s:io.kubernetes.pod.namespace":"default"}}: selected
    ingressDeny[0] denies from:
      entity world: no match for [${C1_CLIENT}]
      ports [0/ANY]: cover 8080/TCP
      => does not apply
    ingress[0] allows from:
      {"matchLabels":{"any:app":"client","any:io.cilium.k8s.policy.cluster":"cluster-1","k8s:io.kubernetes.pod.namespace":"default"}}: matches
      ports [80/TCP]: do not cover 8080/TCP
      => does not apply
1/1 rules selected
Found no allow rule; default deny from default/echo-from-cluster-1-clients spec
Ingress verdict: denied

Final verdict: DENIED
`,
  );
});

test("a deny rule is named as the reason", () => {
  const t = traceFlow({ src: { identity: IDENTITY_WORLD, labels: reservedIdentityLabels().get(IDENTITY_WORLD)! }, dst: { ...c2Echo, context: cluster2 }, protocol: "TCP", port: 80 });
  const text = formatTrace(t);
  assert.match(text, /^Egress policy not traced: the source is not a local endpoint of a traced cluster$/m);
  assert.match(text, /^ {6}entity world: matches$/m);
  assert.match(text, /^Found deny rule default\/echo-from-cluster-1-clients spec\.ingressDeny\[0\]\nIngress verdict: denied$/m);
  assert.match(text, /^Final verdict: DENIED\n$/m);
});

test("an unenforced direction says so", () => {
  const t = traceFlow({ src: { ...c2Client, context: cluster2 }, dst: { ...c2Echo }, protocol: "UDP", port: 53 });
  assert.equal(t.verdict, "allowed");
  assert.match(formatTrace(t), /^0\/1 rules selected\nNo rule enforces egress policy\nEgress verdict: allowed$/m);
});

test("a peer identity the cluster has not synced yet is pointed out", () => {
  const late = workload("cluster-1", 1, 77, { app: "client" });
  const t = traceFlow({ src: late, dst: { ...c2Echo, context: cluster2 }, protocol: "TCP", port: 80 });
  assert.equal(t.verdict, "denied");
  assert.match(formatTrace(t), new RegExp(`^Note: identity ${late.identity} is not in cluster cluster-2's identity cache: no rule can allow it until it is synced$`, "m"));
});

describe("the rule walk agrees with the datapath's verdict for every flow of the scenario", () => {
  const reserved = [IDENTITY_HOST, IDENTITY_WORLD, IDENTITY_REMOTE_NODE].map((id): Workload => ({ identity: id, labels: reservedIdentityLabels().get(id)! }));
  const all = [c1Client, c1Other, c2Client, c2Echo, ...reserved];
  const contextOf = (w: Workload) => {
    const cluster = w.labels.find((l) => l.key === "io.cilium.k8s.policy.cluster")?.value;
    return cluster === "cluster-1" ? cluster1 : cluster === "cluster-2" ? cluster2 : undefined;
  };
  const flows: [FlowProtocol, number][] = [["TCP", 80], ["TCP", 8080], ["UDP", 80], ["ICMP", 0]];

  function consistent(d: DirectionTrace): boolean {
    const applying = d.rules.flatMap((r) => r.items).filter((i) => i.applies);
    switch (d.decision.reason) {
      case "denied-by-rule":
        return applying.some((i) => i.deny);
      case "allowed-by-rule":
        return !applying.some((i) => i.deny) && applying.some((i) => !i.deny);
      case "default-deny":
        return applying.length === 0;
      case "not-enforced":
        return !applying.some((i) => i.deny);
    }
  }

  test("trace verdicts equal decideFlow over resolved policies, and each explanation supports its verdict", () => {
    let checked = 0;
    for (const src of all) {
      for (const dst of all) {
        for (const [protocol, port] of flows) {
          const srcCtx = contextOf(src);
          const dstCtx = contextOf(dst);
          const t = traceFlow({ src: { ...src, context: srcCtx }, dst: { ...dst, context: dstCtx }, protocol, port });
          const resolverOf = (c: PolicyContext) => new PolicyResolver(c.policies, c.identities, c.options);
          const expected = decideFlow({
            srcIdentity: src.identity,
            dstIdentity: dst.identity,
            protocol,
            port,
            srcEgress: srcCtx ? resolverOf(srcCtx).resolve(src.labels).egress : undefined,
            dstIngress: dstCtx ? resolverOf(dstCtx).resolve(dst.labels).ingress : undefined,
          });
          const what = `${src.identity} -> ${dst.identity} ${port}/${protocol}`;
          assert.equal(t.verdict, expected.verdict, what);
          for (const d of [t.egress, t.ingress]) if (d) assert.ok(consistent(d), `${what}: ${d.direction} ${d.decision.reason}`);
          checked++;
        }
      }
    }
    assert.equal(checked, all.length * all.length * flows.length);
  });
});
