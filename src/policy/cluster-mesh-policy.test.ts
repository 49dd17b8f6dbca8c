import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { IDENTITY_HOST, IDENTITY_REMOTE_NODE, IDENTITY_WORLD } from "../cluster/index.js";
import { parsePolicyManifests } from "./cnp.js";
import { decide, decideFlow } from "./decide.js";
import type { FlowProtocol } from "./policy-key.js";
import { PolicyResolver, type EndpointPolicy } from "./resolve.js";
import { identityCache, workload } from "./testing/mesh-fixture.js";

// The acceptance scenario, as data: two clusters of one mesh, each resolving its own
// endpoints against its own policies and the identities it knows (its own and its peer's).

const c1Client = workload("cluster-1", 1, 1, { app: "client" });
const c1Other = workload("cluster-1", 1, 2, { app: "other" });
const c1Echo = workload("cluster-1", 1, 3, { app: "echo" });
const c2Client = workload("cluster-2", 2, 1, { app: "client" });
const c2Echo = workload("cluster-2", 2, 2, { app: "echo" });
const mesh = identityCache(c1Client, c1Other, c1Echo, c2Client, c2Echo);

// Applied in cluster-2 only.
const CLUSTER_2_POLICIES = parsePolicyManifests(`
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: echo-from-cluster-1-clients
  namespace: default
spec:
  endpointSelector:
    matchLabels:
      app: echo
  ingress:
  - fromEndpoints:
    - matchLabels:
        app: client
        io.cilium.k8s.policy.cluster: cluster-1
    toPorts:
    - ports:
      - port: "80"
        protocol: TCP
`);

// Applied in cluster-1 only.
const CLUSTER_1_POLICIES = parsePolicyManifests(`
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: clients-to-cluster-2-only
spec:
  endpointSelector:
    matchLabels:
      app: client
  egress:
  - toEndpoints:
    - matchLabels:
        io.cilium.k8s.policy.cluster: cluster-2
`);

const cluster1 = new PolicyResolver(CLUSTER_1_POLICIES, mesh, { localCluster: "cluster-1" });
const cluster2 = new PolicyResolver(CLUSTER_2_POLICIES, mesh, { localCluster: "cluster-2" });

function ingressTo(policy: EndpointPolicy, src: { identity: number }, protocol: FlowProtocol, port: number) {
  return decide(src.identity, policy.ingress, protocol, port);
}

describe("ingress policy on cluster-2's echo pods, allowing app=client of cluster-1 on TCP 80", () => {
  const echo = cluster2.resolve(c2Echo.labels);

  test("the echo endpoint is default-deny on ingress, and egress stays open", () => {
    assert.equal(echo.ingress.enforced, true);
    assert.equal(echo.egress.enforced, false);
    assert.deepEqual([...echo.ingress.allow], [`${c1Client.identity}/6/80`]);
    assert.deepEqual([...echo.ingress.deny], []);
  });

  test("a cluster-1 client is allowed on TCP 80, by that policy", () => {
    const d = ingressTo(echo, c1Client, "TCP", 80);
    assert.equal(d.verdict, "allowed");
    assert.equal(d.reason, "allowed-by-rule");
    assert.deepEqual(d.rules, [{ policy: "default/echo-from-cluster-1-clients", kind: "CiliumNetworkPolicy", path: "spec.ingress[0]" }]);
  });

  test("a cluster-1 pod without the label is denied", () => {
    const d = ingressTo(echo, c1Other, "TCP", 80);
    assert.equal(d.verdict, "denied");
    assert.equal(d.reason, "default-deny");
    assert.deepEqual(d.rules.map((r) => `${r.policy} ${r.path}`), ["default/echo-from-cluster-1-clients spec"]);
  });

  test("a cluster-2 client with the label is denied: the selector names cluster-1", () => {
    assert.equal(ingressTo(echo, c2Client, "TCP", 80).verdict, "denied");
  });

  test("other ports and protocols are denied, even for the allowed client", () => {
    assert.equal(ingressTo(echo, c1Client, "TCP", 8080).verdict, "denied");
    assert.equal(ingressTo(echo, c1Client, "UDP", 80).verdict, "denied");
    assert.equal(ingressTo(echo, c1Client, "ICMP", 0).verdict, "denied");
  });

  test("pods the policy does not select stay unrestricted", () => {
    const client = cluster2.resolve(c2Client.labels);
    assert.equal(client.ingress.enforced, false);
    assert.equal(ingressTo(client, c1Other, "TCP", 9999).verdict, "allowed");
  });

  test("the policy stays in cluster-2: cluster-1's echo pods are not restricted by it", () => {
    const c1EchoPolicy = cluster1.resolve(c1Echo.labels);
    assert.equal(c1EchoPolicy.ingress.enforced, false);
    assert.equal(ingressTo(c1EchoPolicy, c2Client, "TCP", 8080).verdict, "allowed");
    assert.throws(() => cluster2.resolve(c1Echo.labels), /policies stay in their cluster: the endpoint belongs to cluster "cluster-1"/);
  });
});

describe("egress policy on cluster-1's clients allowing only cluster-2", () => {
  const client = cluster1.resolve(c1Client.labels);

  test("traffic to cluster-2 is allowed on any port", () => {
    assert.equal(client.egress.enforced, true);
    assert.equal(decide(c2Echo.identity, client.egress, "TCP", 80).verdict, "allowed");
    assert.equal(decide(c2Client.identity, client.egress, "UDP", 5353).verdict, "allowed");
  });

  test("traffic within cluster-1 and to the world is denied", () => {
    assert.equal(decide(c1Echo.identity, client.egress, "TCP", 80).verdict, "denied");
    assert.equal(decide(c1Other.identity, client.egress, "TCP", 80).verdict, "denied");
    assert.equal(decide(IDENTITY_WORLD, client.egress, "TCP", 443).verdict, "denied");
  });

  test("the whole flow: cluster-1 client -> cluster-2 echo passes both ends on TCP 80 only", () => {
    const echo = cluster2.resolve(c2Echo.labels);
    const flow = { srcIdentity: c1Client.identity, dstIdentity: c2Echo.identity, srcEgress: client.egress, dstIngress: echo.ingress };
    assert.equal(decideFlow({ ...flow, protocol: "TCP", port: 80 }).verdict, "allowed");
    const blocked = decideFlow({ ...flow, protocol: "TCP", port: 8080 });
    assert.equal(blocked.verdict, "denied");
    assert.equal(blocked.egress?.verdict, "allowed");
    assert.equal(blocked.ingress?.reason, "default-deny");
  });
});

describe("selectors without a cluster label: the local-cluster default and the cluster-wide option", () => {
  const policies = parsePolicyManifests(`
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: echo-from-clients
spec:
  endpointSelector:
    matchLabels:
      app: echo
  ingress:
  - fromEndpoints:
    - matchLabels:
        app: client
`);

  test("by default (Cilium 1.19) only the local cluster's clients are selected", () => {
    const echo = new PolicyResolver(policies, mesh, { localCluster: "cluster-2" }).resolve(c2Echo.labels);
    assert.equal(ingressTo(echo, c2Client, "TCP", 80).verdict, "allowed");
    assert.equal(ingressTo(echo, c1Client, "TCP", 80).verdict, "denied");
  });

  test("with defaultLocalCluster: false, clients of every cluster are selected", () => {
    const echo = new PolicyResolver(policies, mesh, { localCluster: "cluster-2", defaultLocalCluster: false }).resolve(c2Echo.labels);
    assert.equal(ingressTo(echo, c2Client, "TCP", 80).verdict, "allowed");
    assert.equal(ingressTo(echo, c1Client, "TCP", 80).verdict, "allowed");
    assert.equal(ingressTo(echo, c1Other, "TCP", 80).verdict, "denied");
  });

  test("a cluster named with matchExpressions also lifts the default", () => {
    const both = parsePolicyManifests(`
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: echo-from-both
spec:
  endpointSelector:
    matchLabels:
      app: echo
  ingress:
  - fromEndpoints:
    - matchLabels:
        app: client
      matchExpressions:
      - key: io.cilium.k8s.policy.cluster
        operator: In
        values: [cluster-1, cluster-2]
`);
    const echo = new PolicyResolver(both, mesh, { localCluster: "cluster-2" }).resolve(c2Echo.labels);
    assert.equal(ingressTo(echo, c1Client, "TCP", 80).verdict, "allowed");
    assert.equal(ingressTo(echo, c2Client, "TCP", 80).verdict, "allowed");
  });
});

describe("entities across the mesh", () => {
  function echoWith(yamlPeers: string) {
    const p = parsePolicyManifests(`
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: echo-entities
spec:
  endpointSelector:
    matchLabels:
      app: echo
  ingress:
  - fromEntities: ${yamlPeers}
`);
    return new PolicyResolver(p, mesh, { localCluster: "cluster-2" }).resolve(c2Echo.labels);
  }

  test("cluster: this cluster's workloads, host and remote nodes, but not a peer cluster's pods", () => {
    const echo = echoWith("[cluster]");
    for (const id of [c2Client.identity, IDENTITY_HOST, IDENTITY_REMOTE_NODE]) assert.equal(decide(id, echo.ingress, "TCP", 80).verdict, "allowed", `identity ${id}`);
    for (const id of [c1Client.identity, IDENTITY_WORLD]) assert.equal(decide(id, echo.ingress, "TCP", 80).verdict, "denied", `identity ${id}`);
  });

  test("all: every identity, even one the cluster has not seen yet", () => {
    const echo = echoWith("[all]");
    assert.deepEqual([...echo.ingress.allow], ["0/0/0"]);
    assert.equal(decide(c1Client.identity, echo.ingress, "UDP", 53).verdict, "allowed");
    assert.equal(decide(0x3ffff, echo.ingress, "TCP", 1).verdict, "allowed");
  });
});
