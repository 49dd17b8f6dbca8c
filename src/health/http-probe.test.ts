import assert from "node:assert/strict";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import { after, test } from "node:test";
import { HealthServer } from "./health-server.js";
import { httpHello } from "./http-probe.js";

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function listen<T extends Server | HttpServer>(server: T): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
}

test("a health server answering 200 is OK, with a positive RTT", async () => {
  const s = new HealthServer({ ip: "127.0.0.1", port: 0, identity: { cluster: "c", node: "n" } });
  await s.start();
  cleanups.push(() => s.stop());
  const out = await httpHello("127.0.0.1", { port: s.port, timeoutMs: 2000 });
  assert.equal(out.ok, true, out.error);
  assert.ok(out.rttMs! > 0 && out.rttMs! < 2000);
});

test("a non-200 answer fails the way Cilium words it", async () => {
  const server = createHttpServer((_req, res) => {
    res.statusCode = 404;
    res.end();
  });
  const port = await listen(server);
  cleanups.push(() => new Promise((r) => server.close(() => r())));
  assert.deepEqual(await httpHello("127.0.0.1", { port, timeoutMs: 2000 }), { ok: false, error: "unexpected status code: 404 404 Not Found" });
});

test("a closed port fails with Go's dial error", async () => {
  const server = createServer();
  const port = await listen(server);
  await new Promise((r) => server.close(r));
  assert.deepEqual(await httpHello("127.0.0.1", { port, timeoutMs: 2000 }), {
    ok: false,
    error: `Get "http://127.0.0.1:${port}/hello": dial tcp 127.0.0.1:${port}: connect: connection refused`,
  });
});

test("a server that never answers fails at the deadline with context deadline exceeded", async () => {
  const sockets: Socket[] = [];
  const server = createServer((s) => sockets.push(s));
  const port = await listen(server);
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  const t0 = Date.now();
  const out = await httpHello("127.0.0.1", { port, timeoutMs: 300 });
  const elapsed = Date.now() - t0;
  assert.deepEqual(out, { ok: false, error: `Get "http://127.0.0.1:${port}/hello": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` });
  assert.ok(elapsed >= 290 && elapsed < 2000, `took ${elapsed} ms`);
});
