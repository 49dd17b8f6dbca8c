import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { serviceIssues } from "./services.js";
import type { ServiceSpec } from "./types.js";

const web: ServiceSpec = {
  id: "default/web:http",
  protocol: "tcp",
  port: 80,
  clusterIP: "198.19.1.10",
  nodePort: 30080,
  loadBalancerIPs: ["198.19.1.200"],
  backends: [
    { ip: "100.65.1.10", port: 8080, active: true },
    { ip: "100.65.2.10", port: 8080, active: false },
  ],
};

describe("checking the services of a desired state", () => {
  test("well-formed services have no issues; no services at all is fine too", () => {
    assert.deepEqual(serviceIssues([web, { ...web, id: "default/web:https", port: 443, nodePort: 30443, loadBalancerIPs: ["198.19.1.200"] }]), []);
    assert.deepEqual(serviceIssues(undefined), []);
    assert.deepEqual(serviceIssues([]), []);
  });

  test("each bad field is named with the service and the value given", () => {
    const cases: [string, ServiceSpec, string][] = [
      ["id", { ...web, id: "default/web app" }, 'services[0] (default/web app): id "default/web app" must be 1-128 characters of A-Z a-z 0-9 . _ / : - starting with a letter or digit'],
      ["port", { ...web, port: 0 }, "services[0] (default/web:http): port 0 must be an integer from 1 to 65535"],
      ["clusterIP", { ...web, clusterIP: "198.19.1" }, 'services[0] (default/web:http): clusterIP "198.19.1" is not an IPv4 address'],
      ["nodePort", { ...web, nodePort: 32768 }, "services[0] (default/web:http): nodePort 32768 must be an integer from 30000 to 32767"],
      ["LB IP", { ...web, loadBalancerIPs: ["198.19.1.300"] }, 'services[0] (default/web:http): loadBalancerIPs[0] "198.19.1.300" is not an IPv4 address'],
      ["LB IP = clusterIP", { ...web, loadBalancerIPs: ["198.19.1.10"] }, 'services[0] (default/web:http): loadBalancerIPs[0] "198.19.1.10" is the service\'s own clusterIP'],
      ["LB IP twice", { ...web, loadBalancerIPs: ["198.19.1.200", "198.19.1.200"] }, 'services[0] (default/web:http): loadBalancerIPs[1] "198.19.1.200" is listed twice'],
      ["backend port", { ...web, backends: [{ ip: "100.65.1.10", port: 70000, active: true }] }, "services[0] (default/web:http): backends[0]: port 70000 must be an integer from 1 to 65535"],
      ["active flag", { ...web, backends: [{ ip: "100.65.1.10", port: 8080, active: "yes" as never }] }, 'services[0] (default/web:http): backends[0]: active "yes" must be true or false'],
      [
        "same backend twice",
        { ...web, backends: [web.backends[0]!, { ...web.backends[0]!, active: false }] },
        "services[0] (default/web:http): backends[1]: 100.65.1.10:8080 is the same backend as backends[0]",
      ],
    ];
    for (const [what, spec, message] of cases) assert.deepEqual(serviceIssues([spec]), [message], what);
  });

  test("two services cannot share an id, a frontend address, or a nodePort of the same protocol", () => {
    assert.deepEqual(serviceIssues([web, { ...web, clusterIP: "198.19.1.11", nodePort: 30081, loadBalancerIPs: [] }]), [
      'services[1] (default/web:http): id "default/web:http" is already used by services[0]; ids must be unique',
    ]);
    assert.deepEqual(serviceIssues([web, { ...web, id: "other/web", clusterIP: "198.19.1.11", loadBalancerIPs: [] }]), [
      "services[1] (other/web): nodePort *:30080/tcp is already a frontend of services[0]",
    ]);
    // The same nodePort number over UDP is another frontend.
    assert.deepEqual(serviceIssues([web, { ...web, id: "other/web", protocol: "udp", clusterIP: "198.19.1.11", loadBalancerIPs: [] }]), []);
  });

  test("a list that is not a list, or holds something else than services, says so", () => {
    assert.deepEqual(serviceIssues("web" as never), ['services must be a list, got "web"']);
    assert.deepEqual(serviceIssues([null] as never), ["services[0] must be an object, got null"]);
  });
});
