import assert from "node:assert/strict";
import { createServer } from "node:net";
import { describe, test } from "node:test";
import { Gauge, register as globalRegistry } from "prom-client";
import { AgentMetrics } from "./agent-metrics.js";
import { createRegistry } from "./registry.js";
import { parseServeAddress, serveMetrics } from "./serve.js";
import { parseExposition, valueOf } from "./testing/exposition.js";

describe("parseServeAddress", () => {
  test("reads Cilium's forms: every address, one address, IPv6, and off", () => {
    assert.deepEqual(parseServeAddress(":9962"), { host: undefined, port: 9962 });
    assert.deepEqual(parseServeAddress("127.0.0.1:0"), { host: "127.0.0.1", port: 0 });
    assert.deepEqual(parseServeAddress("[::1]:9963"), { host: "::1", port: 9963 });
    assert.deepEqual(parseServeAddress("localhost:9964"), { host: "localhost", port: 9964 });
    assert.equal(parseServeAddress(""), undefined);
  });

  test("refuses anything else, naming the option, the value and what to give", () => {
    assert.throws(() => parseServeAddress("9962"), /--prometheus-serve-addr "9962" is not an address to serve metrics on: it must end in :<port>; give "<ip>:<port>", ":<port>" for every address, or "" for none/);
    assert.throws(() => parseServeAddress(":65536"), /":65536" .*the port must be from 0 to 65535/);
    assert.throws(() => parseServeAddress("10.0.0.1:http"), /it must end in :<port>/);
    assert.throws(() => parseServeAddress("[10.0.0.1]:80"), /10\.0\.0\.1 is not an IPv6 address/);
    assert.throws(() => parseServeAddress("bad_host:80"), /bad_host is neither an IP address nor a host name/);
  });
});

describe("serveMetrics", () => {
  test("serves the registry in the Prometheus text format on GET /metrics, and nothing else", async (t) => {
    const registry = createRegistry();
    new Gauge({ name: "test_answer", help: "h", labelNames: ["who"], registers: [registry] }).set({ who: "deep thought" }, 42);
    const server = (await serveMetrics(registry, "127.0.0.1:0"))!;
    t.after(() => server.close());
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);

    const res = await fetch(server.url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    const samples = parseExposition(await res.text());
    assert.equal(valueOf(samples, "test_answer", { who: "deep thought" }), 42);

    const base = server.url.replace(/\/metrics$/, "");
    const notFound = await fetch(`${base}/`);
    assert.equal(notFound.status, 404);
    assert.match(await notFound.text(), /metrics are served at \/metrics/);
    const post = await fetch(server.url, { method: "POST" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
  });

  test('"" serves nothing', async () => {
    assert.equal(await serveMetrics(createRegistry(), ""), undefined);
  });

  test("a port already in use fails the start, saying so and what to do", async (t) => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    t.after(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    const port = (blocker.address() as { port: number }).port;
    await assert.rejects(serveMetrics(createRegistry(), `127.0.0.1:${port}`), new RegExp(`cannot serve metrics on "127\\.0\\.0\\.1:${port}": the port is in use .*choose another with --prometheus-serve-addr`));
  });
});

describe("registries", () => {
  test("each daemon's metrics live in a registry of their own, never in prom-client's global one", async () => {
    const a = new AgentMetrics();
    const b = new AgentMetrics();
    a.observeKvstore({ kind: "get", key: "cilium/state/nodes/v1/c1/n1", seconds: 0.01, ok: true });
    const count = async (m: AgentMetrics) => valueOf(parseExposition(await m.registry.metrics()), "cilium_kvstore_operations_duration_seconds_count", { scope: "nodes/v1" });
    assert.equal(await count(a), 1);
    assert.equal(await count(b), undefined);
    assert.equal(globalRegistry.getSingleMetric("cilium_kvstore_operations_duration_seconds"), undefined);
  });
});
