import { test } from "node:test";
import assert from "node:assert/strict";
import { parseApplyFile, parseDeleteFile } from "./apply-documents.js";

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: echo}
spec:
  replicas: 1
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec: {containers: [{name: echo, image: echo, ports: [{containerPort: 80}]}]}
`;
const policy = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: echo-from-clients}
spec:
  endpointSelector: {matchLabels: {app: echo}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: client, io.cilium.k8s.policy.cluster: cluster-1}}]
    toPorts: [{ports: [{port: "80", protocol: TCP}]}]
`;
const clusterwide = `apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: no-world}
spec:
  endpointSelector: {}
  ingressDeny: [{fromEntities: [world]}]
`;

test("a file mixing workloads and policies yields every object with its key; policies are kept as written", () => {
  const objects = parseApplyFile([deployment, policy, clusterwide].join("---\n"), "mesh.yaml");
  assert.deepEqual(
    objects.map((o) => [o.kind, o.namespace, o.name, o.key]),
    [
      ["deployment.apps", "default", "echo", "trellis/deployments/default/echo"],
      ["ciliumnetworkpolicy.cilium.io", "default", "echo-from-clients", "trellis/policies/default/echo-from-clients"],
      ["ciliumclusterwidenetworkpolicy.cilium.io", undefined, "no-world", "trellis/clusterwide-policies/no-world"],
    ],
  );
  const stored = objects[1]!.object as { metadata: { namespace: string }; spec: { ingress: { toPorts: { ports: { port: string }[] }[] }[] } };
  assert.equal(stored.metadata.namespace, "default", "the namespace a CiliumNetworkPolicy defaults to is written down");
  assert.equal(stored.spec.ingress[0]!.toPorts[0]!.ports[0]!.port, "80", "the document as applied, not the parsed model");
});

test("an invalid policy fails the whole file, naming the document, the field and the value", () => {
  const broken = policy.replace("protocol: TCP", "protocol: TCPX");
  assert.throws(
    () => parseApplyFile([deployment, broken].join("---\n"), "mesh.yaml"),
    (e: Error) => {
      assert.match(e.message, /^mesh\.yaml \(document 2\): invalid CiliumNetworkPolicy "echo-from-clients"/);
      assert.match(e.message, /spec\.ingress\[0\]\.toPorts\[0\]\.ports\[0\]\.protocol: protocol "TCPX" is not a protocol/);
      return true;
    },
  );
  assert.throws(() => parseApplyFile(policy.replace("endpointSelector", "nodeSelector")), /nodeSelector.*host policies are not supported/s);
  assert.throws(() => parseApplyFile("apiVersion: cilium.io/v2\nkind: CiliumEgressGatewayPolicy\nmetadata: {name: x}\n"), /unsupported kind "cilium.io\/v2 CiliumEgressGatewayPolicy"; supported: .*cilium.io\/v2 CiliumNetworkPolicy/);
});

test("delete -f needs only a policy's kind and name, so a policy whose rules no longer parse can still be deleted", () => {
  const [p] = parseDeleteFile(policy.replace("protocol: TCP", "protocol: TCPX").replace("{name: echo-from-clients}", "{name: echo-from-clients, namespace: shop}"));
  assert.equal(p!.key, "trellis/policies/shop/echo-from-clients");
  assert.throws(() => parseDeleteFile("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {}\n", "p.yaml"), /p\.yaml: metadata\.name is required/);
});
