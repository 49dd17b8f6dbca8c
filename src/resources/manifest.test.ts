import { test } from "node:test";
import assert from "node:assert/strict";
import { parseManifests } from "./manifest.js";
import { ManifestError } from "./manifest-error.js";
import { podPorts } from "./deployment.js";

// Seed 002's deployment, as written there.
const NGINX = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx-deployment
spec:
  selector:
    matchLabels:
      app: nginx
  replicas: 2
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

test("seed 002's nginx deployment parses with Kubernetes defaults", () => {
  const [m] = parseManifests(NGINX);
  assert.equal(m!.kind, "Deployment");
  const d = m!.object;
  assert.equal(d.metadata.name, "nginx-deployment");
  assert.equal(d.metadata.namespace, "default");
  assert.equal(d.spec.replicas, 2);
  assert.deepEqual(podPorts(d), [80]);
  assert.equal(d.spec.template.spec.containers[0]!.image, "nginx:1.16.1");
});

test("several documents, empty ones skipped", () => {
  const two = `---\n${NGINX}---\n${NGINX.replace("nginx-deployment", "echo")}---\n`;
  assert.deepEqual(parseManifests(two).map((m) => m.object.metadata.name), ["nginx-deployment", "echo"]);
});

test("errors name the field and the rule", () => {
  const cases: [string, RegExp][] = [
    [NGINX.replace("replicas: 2", "replicas: -1"), /spec\.replicas: .*>=0/],
    [NGINX.replace("app: nginx\n  replicas", "app: other\n  replicas"), /does not select spec\.template\.metadata\.labels/],
    [NGINX.replace("name: nginx-deployment", "name: Nginx_Deployment"), /metadata\.name: lower-case/],
    [NGINX.replace("containerPort: 80", "containerPort: 70000"), /containers\[0\]\.ports\[0\]\.containerPort/],
    [NGINX.replace("kind: Deployment", "kind: StatefulSet"), /unsupported kind "apps\/v1 StatefulSet"; supported: apps\/v1 Deployment, v1 Service, v1 Secret/],
    ["a: [", /not valid YAML/],
    ["", /holds no objects/],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => parseManifests(text, "f.yaml"), (e: unknown) => e instanceof ManifestError && re.test(e.message), re.source);
  }
});
