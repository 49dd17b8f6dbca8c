import { test } from "node:test";
import assert from "node:assert/strict";
import { parseService } from "../resources/service.js";
import { ServiceAllocationError, ServiceAllocator } from "./service-allocator.js";

const svc = (name: string, type: string, extra = "") =>
  parseService({ apiVersion: "v1", kind: "Service", metadata: { name }, spec: { type, ports: [{ port: 80, ...(extra ? { nodePort: Number(extra) } : {}) }], selector: { app: name } } });

test("allocations are unique, sticky, and follow the service type", () => {
  const a = new ServiceAllocator("198.19.1.0/25", "198.19.1.128/25", []);
  const web = a.allocate(svc("web", "LoadBalancer"), undefined);
  const db = a.allocate(svc("db", "ClusterIP"), undefined);
  const np = a.allocate(svc("np", "NodePort", "32379"), undefined);
  assert.equal(web.clusterIP, "198.19.1.1");
  assert.equal(db.clusterIP, "198.19.1.2");
  assert.deepEqual(web.loadBalancerIPs, ["198.19.1.129"]);
  assert.equal(web.nodePorts["80"], 30000);
  assert.deepEqual(np.nodePorts, { "80": 32379 });
  assert.deepEqual(db.nodePorts, {});
  assert.deepEqual(a.allocate(svc("web", "LoadBalancer"), web), web, "same spec, same status");

  // A restarted operator sees the statuses and hands out nothing twice.
  const b = new ServiceAllocator("198.19.1.0/25", "198.19.1.128/25", [web, db, np]);
  const next = b.allocate(svc("other", "LoadBalancer"), undefined);
  assert.equal(next.clusterIP, "198.19.1.4");
  assert.deepEqual(next.loadBalancerIPs, ["198.19.1.130"]);
  assert.equal(next.nodePorts["80"], 30001);
  assert.throws(() => b.allocate(svc("clash", "NodePort", "32379"), undefined), (e: unknown) => e instanceof ServiceAllocationError && /nodePort 32379 is already allocated/.test(e.message));
});

test("a full pool says so", () => {
  const a = new ServiceAllocator("198.19.1.0/30", "198.19.1.128/30", []);
  a.allocate(svc("a", "ClusterIP"), undefined);
  a.allocate(svc("b", "ClusterIP"), undefined);
  assert.throws(() => a.allocate(svc("c", "ClusterIP"), undefined), /service IP pool 198\.19\.1\.0\/30 is exhausted/);
});
