import assert from "node:assert/strict";
import { request } from "node:http";
import { after, test } from "node:test";
import { HealthServer } from "./health-server.js";

const servers: HealthServer[] = [];
after(async () => {
  for (const s of servers) await s.stop();
});

async function started(options: Partial<ConstructorParameters<typeof HealthServer>[0]> = {}): Promise<HealthServer> {
  const s = new HealthServer({ ip: "127.0.0.1", port: 0, identity: { cluster: "cluster-1", node: "node-1" }, ...options });
  servers.push(s);
  await s.start();
  return s;
}

function call(port: number, method: string, path: string): Promise<{ status: number; body: string; allow?: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, agent: false }, (res) => {
      let body = "";
      res.on("data", (b: Buffer) => (body += b.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, allow: res.headers.allow }));
    });
    req.on("error", reject);
    req.end();
  });
}

test("GET /hello answers 200 with the node and cluster; other paths 404, other methods 405", async () => {
  const s = await started();
  const hello = await call(s.port, "GET", "/hello");
  assert.equal(hello.status, 200);
  assert.deepEqual(JSON.parse(hello.body), { cluster: "cluster-1", node: "node-1", role: "agent" });
  assert.equal((await call(s.port, "GET", "/hello?probe=1")).status, 200);
  assert.equal((await call(s.port, "HEAD", "/hello")).status, 200);
  const missing = await call(s.port, "GET", "/healthz");
  assert.equal(missing.status, 404);
  assert.match(missing.body, /no such path \/healthz; health checks use GET \/hello/);
  const post = await call(s.port, "POST", "/hello");
  assert.equal(post.status, 405);
  assert.equal(post.allow, "GET, HEAD");
});

test("the responder role says so in its answer", async () => {
  const s = await started({ role: "endpoint", identity: { cluster: "cluster-2", node: "node-7" } });
  assert.deepEqual(JSON.parse((await call(s.port, "GET", "/hello")).body), { cluster: "cluster-2", node: "node-7", role: "endpoint" });
});

test("stop() closes the port", async () => {
  const s = await started();
  const port = s.port;
  await s.stop();
  await assert.rejects(call(port, "GET", "/hello"), /ECONNREFUSED/);
  await s.stop();
});

test("listening errors name the address and the likely cause", async () => {
  const s = await started();
  await assert.rejects(started({ port: s.port }), new RegExp(`cannot listen on 127\\.0\\.0\\.1:${s.port}: the port is already in use`));
  // Binding sends nothing; the address is simply not one of this namespace's.
  await assert.rejects(started({ ip: "198.18.255.254", port: 0 }), /cannot listen on 198\.18\.255\.254:0: 198\.18\.255\.254 is not an address of this network namespace/);
});

test("bad settings are refused with the value given", () => {
  const identity = { cluster: "cluster-1", node: "node-1" };
  assert.throws(() => new HealthServer({ ip: "localhost", identity }), /health server IP must be an IPv4 address .*"localhost"/);
  assert.throws(() => new HealthServer({ ip: "127.0.0.1", port: -1, identity }), /port .*-1/);
  assert.throws(() => new HealthServer({ ip: "127.0.0.1", identity: { cluster: "c", node: "bad name" } }), /identity\.node .*"bad name"/);
});
