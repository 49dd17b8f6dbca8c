import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ManifestError } from "../resources/manifest-error.js";
import { isPolicyDocument, parseNetworkPolicy, parsePolicyManifests } from "./cnp.js";

const BASE = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: web
  namespace: shop
spec:
  endpointSelector:
    matchLabels:
      app: web
  ingress:
  - fromEndpoints:
    - matchLabels:
        k8s:app: client
    toPorts:
    - ports:
      - port: "80"
        protocol: TCP
`;

describe("parsing a CiliumNetworkPolicy", () => {
  test("the typed policy keeps the namespace, rules and ports; plain keys get Cilium's 'any' source", () => {
    const [p] = parsePolicyManifests(BASE);
    assert.deepEqual(p, {
      kind: "CiliumNetworkPolicy",
      name: "web",
      namespace: "shop",
      rules: [
        {
          path: "spec",
          endpointSelector: { matchLabels: { "any:app": "web" }, matchExpressions: [] },
          ingress: [
            {
              endpoints: [{ matchLabels: { "k8s:app": "client" }, matchExpressions: [] }],
              toPorts: [{ ports: [{ port: 80, endPort: 80, protocol: "TCP" }] }],
            },
          ],
          ingressDeny: [],
          egress: [],
          egressDeny: [],
          enableDefaultDeny: {},
        },
      ],
    });
  });

  test("a policy without a namespace lives in default", () => {
    const [p] = parsePolicyManifests(BASE.replace("  namespace: shop\n", ""));
    assert.equal(p!.namespace, "default");
  });

  test("ports: numbers or numeric strings, protocol case-insensitive and ANY when omitted, ranges with endPort", () => {
    const [p] = parsePolicyManifests(
      BASE.replace('- port: "80"\n        protocol: TCP', "- port: 53\n        protocol: udp\n      - port: \"8000\"\n        endPort: 8080\n      - port: 0"),
    );
    assert.deepEqual(p!.rules[0]!.ingress[0]!.toPorts[0]!.ports, [
      { port: 53, endPort: 53, protocol: "UDP" },
      { port: 8000, endPort: 8080, protocol: "ANY" },
      { port: 0, endPort: 0, protocol: "ANY" },
    ]);
  });

  test("specs (a list of rules), deny sections, entities, matchExpressions and enableDefaultDeny", () => {
    const [p] = parsePolicyManifests(`
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: many}
specs:
- endpointSelector: {}
  egress:
  - toEntities: [world, cluster]
  egressDeny:
  - toEndpoints:
    - matchExpressions:
      - {key: "k8s:tier", operator: NotIn, values: [db]}
      - {key: env, operator: DoesNotExist}
- endpointSelector: {matchLabels: {app: db}}
  ingressDeny:
  - fromEndpoints: []
  enableDefaultDeny: {ingress: false}
  description: lock down db
`);
    const [a, b] = p!.rules;
    assert.equal(a!.path, "specs[0]");
    assert.deepEqual(a!.egress, [{ entities: ["world", "cluster"], toPorts: [] }]);
    assert.deepEqual(a!.egressDeny[0]!.endpoints, [
      {
        matchLabels: {},
        matchExpressions: [
          { key: "k8s:tier", operator: "NotIn", values: ["db"] },
          { key: "any:env", operator: "DoesNotExist", values: [] },
        ],
      },
    ]);
    assert.equal(b!.path, "specs[1]");
    assert.deepEqual(b!.ingressDeny, [{ endpoints: [], toPorts: [] }], "an explicit empty list is kept: it selects nothing");
    assert.deepEqual(b!.enableDefaultDeny, { ingress: false });
    assert.equal(b!.description, "lock down db");
  });

  test("a CiliumClusterwideNetworkPolicy has no namespace", () => {
    const [p] = parsePolicyManifests(BASE.replace("kind: CiliumNetworkPolicy", "kind: CiliumClusterwideNetworkPolicy").replace("  namespace: shop\n", ""));
    assert.equal(p!.kind, "CiliumClusterwideNetworkPolicy");
    assert.equal(p!.namespace, undefined);
    assert.equal("namespace" in p!, false);
  });

  test("isPolicyDocument recognises both kinds of cilium.io/v2 only", () => {
    assert.equal(isPolicyDocument("cilium.io/v2", "CiliumNetworkPolicy"), true);
    assert.equal(isPolicyDocument("cilium.io/v2", "CiliumClusterwideNetworkPolicy"), true);
    assert.equal(isPolicyDocument("networking.k8s.io/v1", "NetworkPolicy"), false);
    assert.equal(isPolicyDocument("cilium.io/v1", "CiliumNetworkPolicy"), false);
  });
});

describe("invalid documents are rejected, naming the field and the value", () => {
  const cases: [string, string, RegExp][] = [
    ["no rule at all", BASE.slice(0, BASE.indexOf("spec:")), /^ {2}spec: a CiliumNetworkPolicy needs spec \(one rule\) or specs/m],
    ["missing endpointSelector", BASE.replace("  endpointSelector:\n    matchLabels:\n      app: web\n", ""), /spec\.endpointSelector: endpointSelector is required/],
    ["nodeSelector", BASE.replace("endpointSelector:", "nodeSelector:"), /spec: "nodeSelector" is not supported in a policy rule .*host policies are not supported/],
    ["a CIDR rule", BASE.replace("fromEndpoints:", "fromCIDR:"), /spec\.ingress\[0\]: "fromCIDR" is not supported in an ingress rule \(accepted: fromEndpoints, fromEntities, toPorts\)/],
    ["an L7 rule", BASE.replace("        protocol: TCP\n", "        protocol: TCP\n      rules:\n        http: [{method: GET}]\n"), /spec\.ingress\[0\]\.toPorts\[0\]: "rules" is not supported .*L7 rules need a proxy/],
    ["a port out of range", BASE.replace('port: "80"', "port: 70000"), /spec\.ingress\[0\]\.toPorts\[0\]\.ports\[0\]\.port: port must be 0-65535, 0 meaning every port \(got 70000\)/],
    ["a named port", BASE.replace('port: "80"', "port: http"), /ports\[0\]\.port: named ports are not supported; give the port number \(got "http"\)/],
    ["a missing port", BASE.replace('- port: "80"\n        protocol: TCP', "- protocol: TCP"), /ports\[0\]\.port: port is required/],
    ["an unknown protocol", BASE.replace("protocol: TCP", "protocol: QUIC"), /ports\[0\]\.protocol: protocol "QUIC" is not a protocol; use one of TCP, UDP, SCTP, ANY/],
    ["ICMP in toPorts", BASE.replace("protocol: TCP", "protocol: ICMP"), /ports\[0\]\.protocol: protocol "ICMP" is not supported by Trellis/],
    ["endPort below port", BASE.replace("protocol: TCP", "protocol: TCP\n        endPort: 79"), /ports\[0\]\.endPort: endPort 79 is below port 80/],
    ["an unknown entity", BASE.replace("fromEndpoints:\n    - matchLabels:\n        k8s:app: client", "fromEntities: [everyone]"), /spec\.ingress\[0\]\.fromEntities\[0\]: unknown entity "everyone"; entities are all, world/],
    ["an unknown label source", BASE.replace("k8s:app: client", "cidr:app: client"), /fromEndpoints\[0\]\.matchLabels\["cidr:app"\]: label source "cidr" is not one Trellis identities carry/],
    ["a bad label value", BASE.replace("k8s:app: client", "k8s:app: -client"), /matchLabels\["k8s:app"\]: label value "-client" must be/],
    ["an unknown reserved label", BASE.replace("k8s:app: client", 'reserved:everything: ""'), /"reserved:everything" is not a reserved label; reserved labels are host, world/],
    ["a cluster label that is no cluster name", BASE.replace("k8s:app: client", "io.cilium.k8s.policy.cluster: Cluster_1"), /matchLabels\["io\.cilium\.k8s\.policy\.cluster"\]: "Cluster_1" is not a cluster name/],
    ["the same label twice", BASE.replace("k8s:app: client", "app: a\n        any:app: b"), /matchLabels\["any:app"\]: "app" and "any:app" are the same label; keep one/],
    ["In without values", BASE.replace("- matchLabels:\n        k8s:app: client", "- matchExpressions:\n      - {key: app, operator: In}"), /matchExpressions\[0\]\.values: operator In needs at least one value/],
    ["Exists with values", BASE.replace("- matchLabels:\n        k8s:app: client", "- matchExpressions:\n      - {key: app, operator: Exists, values: [x]}"), /matchExpressions\[0\]\.values: operator Exists takes no values \(got \["x"\]\)/],
    ["a bad operator", BASE.replace("- matchLabels:\n        k8s:app: client", "- matchExpressions:\n      - {key: app, operator: Equals, values: [x]}"), /matchExpressions\[0\]\.operator: operator must be one of In, NotIn, Exists, DoesNotExist \(got "Equals"\)/],
    ["a subject in another namespace", BASE.replace("      app: web", "      app: web\n      k8s:io.kubernetes.pod.namespace: other"), /spec\.endpointSelector\.matchLabels\["k8s:io\.kubernetes\.pod\.namespace"\]: a CiliumNetworkPolicy applies only to endpoints of its own namespace "shop"/],
    ["a clusterwide policy with a namespace", BASE.replace("kind: CiliumNetworkPolicy", "kind: CiliumClusterwideNetworkPolicy"), /metadata\.namespace: a CiliumClusterwideNetworkPolicy is cluster-scoped: remove metadata\.namespace \(got "shop"\)/],
    ["a bad name", BASE.replace("name: web", "name: Web_Policy"), /metadata\.name: lower-case letters/],
    ["a misspelt section", BASE.replace("  ingress:", "  ingres:"), /spec: "ingres" is not supported in a policy rule \(accepted: endpointSelector, ingress, ingressDeny, egress, egressDeny/],
    ["too many ports", BASE.replace('      - port: "80"\n        protocol: TCP\n', Array.from({ length: 41 }, (_, i) => `      - port: ${i + 1}\n`).join("")), /toPorts\[0\]\.ports: at most 40 ports per toPorts entry/],
  ];
  for (const [what, text, re] of cases) {
    test(what, () => {
      assert.throws(
        () => parsePolicyManifests(text, "p.yaml"),
        (e: unknown) => e instanceof ManifestError && /^invalid Cilium(Clusterwide)?NetworkPolicy "[^"]+":\n/.test(e.message) && re.test(e.message),
        re.source,
      );
    });
  }

  test("every problem of a document is listed, not just the first", () => {
    const text = BASE.replace('port: "80"', "port: -1").replace("k8s:app: client", "k9s:app: client");
    assert.throws(() => parsePolicyManifests(text), (e: unknown) => e instanceof ManifestError && e.message.split("\n").length === 3);
  });

  test("documents of other kinds, bad YAML and empty files are refused by parsePolicyManifests", () => {
    assert.throws(() => parsePolicyManifests("apiVersion: v1\nkind: Service\n", "f.yaml"), /f\.yaml: unsupported kind "v1 Service"; supported: cilium\.io\/v2 CiliumNetworkPolicy/);
    assert.throws(() => parsePolicyManifests("a: [", "f.yaml"), /f\.yaml is not valid YAML/);
    assert.throws(() => parsePolicyManifests("---\n", "f.yaml"), /f\.yaml holds no objects/);
    assert.throws(() => parseNetworkPolicy({ ...parsePolicyManifests(BASE)[0], apiVersion: "cilium.io/v1", kind: "CiliumNetworkPolicy" }), /apiVersion must be "cilium\.io\/v2" \(got "cilium\.io\/v1"\)/);
  });
});
